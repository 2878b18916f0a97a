"""torch-side's one command_main: bad input is one line and exit 2, a bug is its traceback and exit 1.

Run as real processes, so what a user sees (stderr, the exit status) is what is checked."""
import os
import subprocess
import sys

import pytest

pytest.importorskip("torch")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# the command's own code raises a plain ValueError, as a bug would: not bad input
BUG = ("import sys; import torch_side.cli.train as t\n"
       "def broken(args): raise ValueError('an internal bug, not the user')\n"
       "t.recipe_from_args = broken\n"
       "from torch_side.cli import main; sys.exit(main(sys.argv[1:]))")


def _run(code, *argv, cwd):
    return subprocess.run([sys.executable, "-c", code, *argv], cwd=cwd, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=ROOT), timeout=300)


def test_an_unexpected_exception_prints_its_traceback_and_exits_1(tmp_path):
    r = _run(BUG, "train", "--recipe", "tiny", "--out", "run", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert "Traceback (most recent call last)" in r.stderr
    assert r.stderr.rstrip().endswith("ValueError: an internal bug, not the user")
    assert "error:" not in r.stderr.splitlines()[0]
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
@pytest.mark.parametrize("argv,message", [
    (["train", "--recipe", "tiny", "--bs", "0", "--out", "run"], "--bs must be a positive integer, got 0"),
    (["train", "--recipe", "nope", "--out", "run"], "unknown recipe 'nope'"),
    (["train", "--recipe", "tiny", "--device", "cuda", "--out", "run"], "no CUDA GPU is available"),
], ids=["usage", "unknown-recipe", "device"])
def test_bad_input_is_one_line_and_exit_2(tmp_path, argv, message):
    code = ("import sys, torch; torch.cuda.is_available = lambda: False\n"
            "from torch_side.cli import main; sys.exit(main(sys.argv[1:]))")
    r = _run(code, *argv, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"torch-side {argv[0]}: error: ") and message in lines[0], r.stderr
    assert not (tmp_path / "run").exists()


def test_the_error_hierarchy_keeps_the_builtin_bases():
    from torch_side import errors
    from torch_side.learn.learner import NonFiniteLossError
    from xlopt.core.errors import BadInput, XloptError
    assert issubclass(errors.UsageError, (ValueError, BadInput)) and errors.UsageError.exit_code == 2
    assert issubclass(errors.DatasetMissingError, FileNotFoundError) and issubclass(errors.DataError, ValueError)
    assert issubclass(errors.CheckpointError, ValueError) and issubclass(errors.DeviceError, RuntimeError)
    assert issubclass(NonFiniteLossError, errors.DivergedError) and NonFiniteLossError.exit_code == 3
    assert all(issubclass(e, XloptError) for e in (errors.UsageError, errors.DataError, errors.CheckpointError,
                                                   errors.DeviceError, errors.DivergedError))
    assert errors.is_device_failure(RuntimeError("CUDA out of memory")) and \
        errors.is_device_failure(RuntimeError("no cuda device"))
    assert not errors.is_device_failure(ValueError("cuda")) and not errors.is_device_failure(RuntimeError("x"))
