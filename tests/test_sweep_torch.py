"""`torch-side sweep` equals `xlopt sweep` in float64, to the bit (CPU here; --device cuda where present)."""
import contextlib
import io
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from xlopt.core import sheets, sweep  # noqa: E402
from torch_side.cli import main as torch_side  # noqa: E402
from torch_side.cmd_sweep import TorchOps  # noqa: E402

GRIDS = {"basic": "lr=1e-5..1e-2:6:log", "momentum": "lr=1e-5..1e-2:5:log,mom=0.5,0.9",
         "rmsprop": "lr=1e-3..3:5:log,sqr_mom=0.8,0.9", "adam": "lr=1e-3..30:6:log,mom=0.5,0.9",
         "adam_ann": "lr=1e-2..30:5:log,sqr_mom=0.9,0.95", "nesterov": "lr=1e-5..1e-2:5:log,mom=0.5,0.9",
         "adam_bc": "lr=1e-3..3:5:log,eps=1e-8,1e-3", "lion": "lr=1e-3..1:5:log,beta2=0.9,0.99"}
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sheets.SHEETS)
def test_torch_equals_numpy(name, device):
    axes = sweep.parse_grid(sheets.get(name), [GRIDS[name]])
    a = sweep.run(name, axes, 20, "full")
    b = sweep.run(name, axes, 20, "full", ops=TorchOps(device))
    assert a.records() == b.records()
    assert np.array_equal(a.rmse, b.rmse, equal_nan=True)


def test_cli_same_json(xlopt_cli):
    code, want, _ = xlopt_cli("sweep", "adam_ann", "--grid", GRIDS["adam_ann"], "--epochs", 10, "--format", "json")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert torch_side(["sweep", "adam_ann", "--grid", GRIDS["adam_ann"], "--epochs", "10", "--format", "json"]) == 0
    assert code == 0 and json.loads(out.getvalue()) == json.loads(want)
