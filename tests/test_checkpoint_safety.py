"""Untrusted checkpoints run no code: read with weights_only=True, a crafted pickle is refused."""
import pytest

pytest.importorskip("torch")  # needs torch: skipped, with the reason, where it is not installed
import os
import pickle

import torch

from torch_side import cli
from torch_side.learn.checkpoint import CheckpointError, FORMAT, load_checkpoint, save_atomic


class Payload:
    """Unpickling this calls os.system, which would create the file `marker`."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def craft(path, marker):
    torch.save({"format": FORMAT, "model_name": "resnet", "evil": Payload(marker)}, path)


def test_a_crafted_checkpoint_is_refused_and_its_payload_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    ckpt = tmp_path / "checkpoint.pt"
    craft(ckpt, marker)
    with pytest.raises(CheckpointError, match="refused: it holds Python objects") as e:
        load_checkpoint(ckpt)
    assert "nothing in it was run" in str(e.value)
    assert not marker.exists()
    # the same file unpickled the unsafe way would have run it: the test's payload is real
    with open(ckpt, "rb"):
        pass
    torch.load(ckpt, weights_only=False)
    assert marker.exists()


def test_resume_from_a_crafted_checkpoint_exits_2_and_runs_nothing(tmp_path, capsys):
    marker = tmp_path / "pwned"
    out = tmp_path / "run"
    out.mkdir()
    craft(out / "checkpoint.pt", marker)
    before = (out / "checkpoint.pt").read_bytes()
    rc = cli.main(["train", "--recipe", "resnet-5ep", "--epochs", "1", "--subset", "256", "--sched", "constant",
                   "--out", str(out),
                   "--resume", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "refused: it holds Python objects" in err and "Traceback" not in err
    assert not marker.exists() and (out / "checkpoint.pt").read_bytes() == before


def test_a_plain_checkpoint_round_trips_with_weights_only(tmp_path):
    import numpy as np
    from torch_side.learn.checkpoint import _plain
    obj = {"format": FORMAT, "model_name": "m", "model": {"w": torch.ones(2)}, "opt": {"lr": 0.1, "betas": (0.9, 0.99)},
           "history": _plain([{"loss": np.float64(0.5), "epoch": np.int64(1)}]), "torch_rng": torch.get_rng_state()}
    save_atomic(obj, tmp_path / "c.pt")
    back = load_checkpoint(tmp_path / "c.pt")
    assert back["history"] == [{"loss": 0.5, "epoch": 1}] and torch.equal(back["model"]["w"], torch.ones(2))
    assert isinstance(pickle.dumps(back["history"]), bytes)
