"""compare --workers: Ray tasks give the sequential run's numbers bit for bit, a dead worker costs
only its own trial, finished trials are kept and not rerun, and bad input is one line, exit 2."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from torch_side import cli
from torch_side.fashion import data as D
from torch_side.dist.grid import DIE_ENV

pytestmark = pytest.mark.skipif(not D._has_all(D.DEBIAN_DIR),
                                reason=f"Debian package {D.DEBIAN_PACKAGE} not installed")
try:
    import ray  # noqa: F401
    HAVE_RAY = True
except ImportError:
    HAVE_RAY = False
needs_ray = pytest.mark.skipif(not HAVE_RAY, reason='Ray not installed (pip install -e ".[dist]")')

GRID = ["--opts", "sgd,adam", "--scheds", "constant,cosine", "--subset", "300", "--bs", "50",
        "--epochs", "1", "--device", "cpu", "--no-progress"]
RESULT = ["optimizer", "schedule", "lr", "status", "train_loss", "valid_loss", "accuracy"]


def _compare(out, *extra):
    return cli.main(["compare", *GRID, "--out", str(out), *extra])


@pytest.mark.slow
@needs_ray
def test_two_workers_give_the_sequential_numbers_bit_for_bit(tmp_path, capsys):
    from tests.test_fashion_compare import _lab_workbook
    # no thread juggling: each trial runs with --threads (default 1) torch threads, sequential or not
    assert _compare(tmp_path / "seq") == 0
    book = _lab_workbook(tmp_path / "lab.xlsx")
    assert _compare(tmp_path / "ray", "--workers", "2", "--workbook", str(book)) == 0
    import signal

    from xlopt.core import signals
    assert signal.getsignal(signal.SIGTERM) is signals._raise  # ray.init's own handler did not stay
    out = capsys.readouterr().out
    assert "ray: 2 workers, 1 CPU each, torch threads 1" in out
    seq = pd.read_csv(tmp_path / "seq" / "compare.csv")
    par = pd.read_csv(tmp_path / "ray" / "compare.csv")
    assert list(par.columns) == list(seq.columns) and len(par) == 4
    assert (par["status"] == "ok").all()
    pd.testing.assert_frame_equal(seq[RESULT], par[RESULT], check_exact=True)  # same rows, same order
    assert (tmp_path / "ray" / "compare.png").stat().st_size > 1000
    assert len(list((tmp_path / "ray" / "trials").glob("*.json"))) == 4
    import openpyxl
    wb = openpyxl.load_workbook(book)
    grid = [[c.value for c in row][:3] for row in wb["compare"].iter_rows(min_row=3, max_row=4)]
    assert grid == [["sgd", *[round(float(a), 4) for a in seq["accuracy"][:2]]],
                    ["adam", *[round(float(a), 4) for a in seq["accuracy"][2:]]]]


@pytest.mark.slow
@needs_ray
def test_a_dead_worker_costs_only_its_trial_and_a_rerun_keeps_the_finished(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    # adam x constant's worker dies every time (reported); sgd x cosine's dies once (Ray retries it)
    monkeypatch.setenv(DIE_ENV, f"adam/constant;sgd/cosine={tmp_path / 'died-once'}")
    assert _compare(out, "--workers", "2") == 0
    assert (tmp_path / "died-once").exists()
    df = pd.read_csv(out / "compare.csv")
    assert len(df) == 4
    dead = df[(df["optimizer"] == "adam") & (df["schedule"] == "constant")]
    assert dead["status"].iloc[0] == "failed: its worker process died (2 tries)"
    assert (df.drop(dead.index)["status"] == "ok").all()  # the retried one included
    records = {p.name: p.stat().st_mtime_ns for p in (out / "trials").glob("*.json")}
    assert len(records) == 3 and not any(n.startswith("adam_constant") for n in records)

    monkeypatch.delenv(DIE_ENV)
    capsys.readouterr()
    assert _compare(out, "--workers", "2") == 0
    log = capsys.readouterr().out
    assert "3 finished trial(s) kept" in log and "1 to run" in log
    assert log.count(" x ") == 1 and "adam x constant" in log  # only the failed trial ran again
    after = {p.name: p.stat().st_mtime_ns for p in (out / "trials").glob("*.json")}
    assert len(after) == 4 and all(after[n] == t for n, t in records.items())
    df2 = pd.read_csv(out / "compare.csv")
    assert (df2["status"] == "ok").all()
    pd.testing.assert_frame_equal(df.drop(dead.index)[RESULT], df2.drop(dead.index)[RESULT])
    saved = json.loads(next((out / "trials").glob("adam_constant-*.json")).read_text())
    assert saved["spec"]["opt"] == "adam" and saved["result"]["row"]["status"] == "ok"


def _one_line(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


def test_workers_zero(tmp_path, capsys):
    assert _compare(tmp_path / "o", "--workers", "0") == 2
    assert "--workers must be a positive integer, got 0" in _one_line(capsys)
    assert not (tmp_path / "o").exists()


def test_ray_not_installed_names_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    assert _compare(tmp_path / "o", "--workers", "2") == 2
    assert 'pip install -e ".[dist]"' in _one_line(capsys)
    assert not (tmp_path / "o").exists()


@needs_ray
def test_unreachable_ray_address_fails_fast_naming_it(tmp_path, capsys):
    t0 = time.monotonic()
    assert _compare(tmp_path / "o", "--workers", "2", "--ray-address", "127.0.0.1:9") == 2
    assert time.monotonic() - t0 < 15
    err = _one_line(capsys)
    assert "--ray-address 127.0.0.1:9: cannot reach the Ray cluster" in err
    assert not (tmp_path / "o").exists()
    assert _compare(tmp_path / "o", "--ray-address", "nonsense") == 2
    assert "is not HOST:PORT" in _one_line(capsys)


@pytest.mark.slow
@needs_ray
def test_reproduce_with_two_workers_gives_the_sequential_rows(tmp_path, capsys):
    base = ["reproduce", "--only", "tiny,lesson-conv", "--subset", "2048", "--device", "cpu", "--no-progress"]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert cli.main(base + ["--out", str(tmp_path / "seq"), "--bench-dir", str(tmp_path / "b1")]) == 0
    finally:
        torch.set_num_threads(threads)
    assert cli.main(base + ["--out", str(tmp_path / "ray"), "--bench-dir", str(tmp_path / "b2"),
                            "--workers", "2"]) == 0
    seq = json.loads((tmp_path / "seq" / "results.json").read_text())["rows"]
    par = json.loads((tmp_path / "ray" / "results.json").read_text())["rows"]
    assert sorted(par) == ["lesson-conv", "tiny"]
    for n in par:
        for k in ("accuracy", "tta_accuracy", "train_accuracy", "train_images", "epochs"):
            assert par[n].get(k) == seq[n].get(k), (n, k)
        assert (tmp_path / "ray" / n / "history.csv").exists()
    assert len(list((tmp_path / "b2").iterdir())) == 2
    md = (tmp_path / "ray" / "results.md").read_text()
    assert "| tiny | 2 |" in md and "| lesson-conv | 5 |" in md


def test_trial_store_keys_results_by_their_whole_spec(tmp_path):
    from torch_side.dist.grid import TrialStore
    store = TrialStore(tmp_path / "trials")
    spec = {"opt": "adam", "sched": "cosine", "lr": 0.01, "epochs": 1, "data_dir": None}
    assert store.get(spec, "adam/cosine") is None
    store.put(spec, "adam/cosine", {"row": {"accuracy": 0.1 + 0.2}})
    assert store.get(spec, "adam/cosine") == {"row": {"accuracy": 0.30000000000000004}}  # floats exact
    assert store.get({**spec, "epochs": 2}, "adam/cosine") is None  # other settings: run again
    (f,) = (tmp_path / "trials").iterdir()
    assert f.name.startswith("adam_cosine-") and f.suffix == ".json"
    f.write_text("{half a rec")
    assert store.get(spec, "adam/cosine") is None  # a damaged record is run again, not an error


@pytest.mark.slow
def test_without_workers_ray_is_not_imported(tmp_path):
    code = ("import sys; from torch_side import cli; "
            f"rc = cli.main(['compare', '--opts', 'adam', '--scheds', 'constant', '--subset', '300', '--bs', '50', "
            f"'--epochs', '1', '--device', 'cpu', '--no-progress', '--out', {str(tmp_path / 'o')!r}]); "
            "print('RAY' if 'ray' in sys.modules else 'NO-RAY', rc)")
    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root,
                       env={**os.environ, "PYTHONPATH": str(root)}, timeout=600)
    assert r.stdout.strip().splitlines()[-1] == "NO-RAY 0", r.stderr[-2000:]
    assert not (tmp_path / "o" / "trials").exists()


@pytest.mark.slow
@needs_ray
def test_seeds_and_tuning_on_two_workers_equal_the_sequential_run_bit_for_bit(tmp_path):
    """The whole protocol (tuning trials, then the tuned setting on two seeds) through Ray."""
    grid = ["compare", "--opts", "adam", "--scheds", "constant", "--subset", "300", "--bs", "50",
            "--epochs", "1", "--device", "cpu", "--no-progress", "--seeds", "2", "--tune", "lr",
            "--budget", "2"]
    assert cli.main([*grid, "--out", str(tmp_path / "seq")]) == 0
    assert cli.main([*grid, "--out", str(tmp_path / "ray"), "--workers", "2"]) == 0
    for f in ("compare.csv", "tune.csv"):
        seq, par = (pd.read_csv(tmp_path / d / f) for d in ("seq", "ray"))
        cols = RESULT + (["setting", "seed"] if f == "compare.csv" else [])
        assert len(seq) == (4 if f == "compare.csv" else 2)
        pd.testing.assert_frame_equal(seq[cols], par[cols], check_exact=True)
