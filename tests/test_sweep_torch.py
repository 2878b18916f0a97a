"""`torch-side sweep` equals `xlopt sweep` in float64, to the bit (CPU here; --device cuda where present)."""
import contextlib
import io
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from xlopt.core import sheets, sweep, sweep_grid  # noqa: E402
from torch_side.cli import main as torch_side  # noqa: E402
from torch_side.cli.sweep import TorchOps  # noqa: E402



def _grid(sheet):
    """lr over 5 log-spaced values around the sheet's default, and its first hyper-parameter
    at its default and 0.9 times it."""
    d = sheet.lr_default
    grid = f"lr={d / 100!r}..{d * 20!r}:5:log"
    if sheet.hyper:
        h, (_, v) = next(iter(sheet.hyper.items()))
        grid += f",{h}={v!r},{v * 0.9!r}"
    return grid


GRIDS = {name: _grid(s) for name, s in sheets.BY_NAME.items()}
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sheets.SHEETS)
def test_torch_equals_numpy(name, device):
    axes = sweep_grid.parse_grid(sheets.get(name), [GRIDS[name]])
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
