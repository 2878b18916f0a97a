"""Every bad input: one row each - the command, the exit code, the message, and that no file changed.

Each row runs in a fresh folder holding the files it could touch (a state file, a workbook, a
checkpoint, a data folder); after the command every one of them has the same sha256 and no file
was added. Rows that need LibreOffice or torch are marked so.
"""
import gzip
import hashlib
import json
import os
import shutil

import pytest
from lo_fixtures import soffice_missing

from xlopt.core import state

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKBOOK = os.path.join(ROOT, "workbooks", "graddesc.xlsm")


def _state(d, **inputs):
    book = state.fresh("adam")
    state.save(book, "lesson", str(d / "s.json"))
    if inputs:
        s = json.loads((d / "s.json").read_text())
        s["inputs"].update(inputs)
        (d / "s.json").write_text(json.dumps(s))


def _workbook(d):
    shutil.copyfile(WORKBOOK, d / "graddesc.xlsm")


def _empty_dir(d):
    (d / "data").mkdir()


def _truncated_gz(d):
    src = "/usr/share/datasets/fashion-mnist"
    (d / "data").mkdir()
    for f in os.listdir(src):
        shutil.copyfile(os.path.join(src, f), d / "data" / f)
    f = sorted(os.listdir(d / "data"))[0]
    raw = (d / "data" / f).read_bytes()
    if raw[:2] != b"\x1f\x8b":
        raw = gzip.compress(raw)
    (d / "data" / f).write_bytes(raw[: len(raw) // 2])


def _out_file(d):
    (d / "out").write_text("not a folder\n")


def _checkpoint(d, **change):
    """run/checkpoint.pt as resnet-5ep saves it, but made with `change` (another optimizer, schedule)."""
    from torch_side.checkpoint import FORMAT, save_atomic
    from torch_side.recipes import get_recipe
    r = get_recipe("resnet-5ep")
    config = dict({"opt": r.opt, "sched": r.sched, "lr": r.lr, "bs": r.bs}, **change)
    (d / "run").mkdir()
    save_atomic({"format": FORMAT, "model_name": r.model, "recipe": r.name, "config": config},
                d / "run" / "checkpoint.pt")


def _csv(d, rows):
    (d / "d.csv").write_text("x,y\n" + "".join(f"{x},{y}\n" for x, y in rows))


def _no_lr_name(d):
    """The built workbook with the adam sheet's defined name lr deleted (as Name Manager would)."""
    import openpyxl
    wb = openpyxl.load_workbook(WORKBOOK, keep_vba=True)
    del wb["adam"].defined_names["lr"]
    wb.save(d / "graddesc.xlsm")


# (id, setup, argv, exit code, message (a substring of the one stderr line), needs)
CASES = [
    ("run-epochs-zero", None, ["xlopt", "run", "adam", "--epochs", "0"], 2, "--epochs must be at least 1, got 0", ""),
    ("run-epochs-huge", None, ["xlopt", "run", "adam", "--epochs", "1000000000"], 2,
     "--epochs must be at most 100000, got 1000000000; continue a longer run in steps with --state FILE", ""),
    ("run-lr-negative", None, ["xlopt", "run", "adam", "--lr", "-1"], 2, "--lr must be a finite number > 0, got -1.0", ""),
    ("run-lr-nan", None, ["xlopt", "run", "adam", "--lr", "nan"], 2, "--lr must be a finite number > 0, got nan", ""),
    ("run-unknown-sheet", None, ["xlopt", "run", "no_such_sheet"], 2, "no_such_sheet", ""),
    ("run-state-lr-negative", lambda d: _state(d, lr=-1), ["xlopt", "run", "adam", "--state", "s.json"], 2,
     "lr is -1; lr must be a finite number > 0", ""),
    ("run-state-lr-zero", lambda d: _state(d, lr=0.0), ["xlopt", "run", "adam", "--state", "s.json"], 2,
     "lr is 0.0; lr must be a finite number > 0", ""),
    ("run-state-beta", lambda d: _state(d, mom=1.5), ["xlopt", "run", "adam", "--state", "s.json"], 2,
     "mom (a beta) is 1.5; it must be a number in [0, 1)", ""),
    ("run-state-other-sheet", _state, ["xlopt", "run", "momentum", "--state", "s.json"], 2,
     "belongs to sheet 'adam', not 'momentum'", ""),
    ("run-state-not-json", lambda d: (d / "s.json").write_text("{"), ["xlopt", "run", "adam", "--state", "s.json"], 2,
     "is corrupt (not JSON", ""),
    ("run-state-data-too", _state, ["xlopt", "run", "adam", "--state", "s.json", "--data", "random"], 2,
     "--data applies to a new state", ""),
    ("run-data-missing", None, ["xlopt", "run", "adam", "--data", "nope.csv"], 2, "cannot read data file nope.csv", ""),
    ("run-data-no-header", lambda d: (d / "d.csv").write_text("1,2\n"), ["xlopt", "run", "adam", "--data", "d.csv"], 2,
     "needs a header with columns x and y", ""),
    ("run-state-folder-missing", None, ["xlopt", "run", "adam", "--state", "no/s.json"], 2, "folder", ""),
    ("linreg-state-lr-negative", lambda d: _state(d, lr=-1), ["torch-side", "linreg", "adam", "--state", "s.json"], 2,
     "lr is -1; lr must be a finite number > 0", "torch"),
    ("linreg-epochs-huge", None, ["torch-side", "linreg", "adam", "--epochs", "1000000000"], 2,
     "--epochs must be at most 100000", "torch"),
    ("click-times-huge", _workbook, ["xlopt", "click", "run", "graddesc.xlsm", "--sheet", "adam", "--times", "100000"], 2,
     "--times must be at most 1000, got 100000", ""),
    ("click-times-zero", _workbook, ["xlopt", "click", "run", "graddesc.xlsm", "--sheet", "adam", "--times", "0"], 2,
     "--times must be at least 1, got 0", ""),
    ("click-missing", None, ["xlopt", "click", "run", "nope.xlsm", "--sheet", "adam"], 2, "nope.xlsm does not exist", ""),
    ("click-suffix", lambda d: (d / "a.txt").write_text("x"), ["xlopt", "click", "run", "a.txt", "--sheet", "adam"], 2,
     "xlopt click opens .xlsx or .xlsm workbooks", ""),
    ("check-missing", None, ["xlopt", "check", "nope.xlsx"], 2, "nope.xlsx does not exist", ""),
    ("check-not-zip", lambda d: (d / "a.xlsx").write_text("x"), ["xlopt", "check", "a.xlsx"], 2,
     "is not a workbook (an .xlsx, .xlsm or .ods file is a zip archive", ""),
    ("train-data-dir-missing", None, ["torch-side", "train", "--recipe", "resnet-5ep", "--data-dir", "nodata",
                                      "--out", "run"], 2, "--data-dir nodata is not a folder", "torch"),
    ("train-data-dir-empty", _empty_dir, ["torch-side", "train", "--recipe", "resnet-5ep", "--data-dir", "data",
                                          "--out", "run"], 2, "--data-dir data lacks", "torch"),
    ("train-data-truncated", _truncated_gz, ["torch-side", "train", "--recipe", "resnet-5ep", "--data-dir", "data",
                                             "--out", "run"], 2, "is a damaged gzip file", "torch"),
    ("train-out-is-file", _out_file, ["torch-side", "train", "--recipe", "resnet-5ep", "--out", "out"], 2,
     "--out out is a file, not a folder", "torch"),
    ("train-subset-too-big", None, ["torch-side", "train", "--recipe", "resnet-5ep", "--subset", "70000", "--out", "run"],
     2, "--subset 70000 is more than the 60000 images there are", "torch"),
    ("compare-out-is-file", _out_file, ["torch-side", "compare", "--out", "out"], 2,
     "--out out is a file, not a folder", "torch"),
    ("compare-workbook-missing", None, ["torch-side", "compare", "--workbook", "nope.xlsx"], 2,
     "workbook nope.xlsx does not exist", "torch"),
    ("compare-workbook-suffix", lambda d: (d / "a.txt").write_text("x"),
     ["torch-side", "compare", "--workbook", "a.txt"], 2, "--workbook a.txt must be an .xlsx or .xlsm workbook", "torch"),
    ("compare-workbook-suffix-missing", None, ["torch-side", "compare", "--workbook", "nope.ods"], 2,
     "--workbook nope.ods must be an .xlsx or .xlsm workbook", "torch"),
    ("train-resume-other-optimizer", lambda d: _checkpoint(d, opt="sgd"),
     ["torch-side", "train", "--recipe", "resnet-5ep", "--out", "run", "--resume"], 2,
     "was saved by a run with opt 'sgd' (this run: ", "torch"),
    ("train-resume-other-schedule", lambda d: _checkpoint(d, sched="constant"),
     ["torch-side", "train", "--recipe", "resnet-5ep", "--out", "run", "--resume"], 2,
     "was saved by a run with sched 'constant' (this run: ", "torch"),
    ("run-data-overflows", lambda d: _csv(d, [(1, 5), (2, 7), (3, 1e300)]),
     ["xlopt", "run", "adam", "--data", "d.csv", "--lr", "1e-300"], 3,
     "the data themselves overflow, whatever the learning rate: data row 3 (sheet row 6, x = 3, y = 1e+300)", ""),
    ("run-data-overflows-squared", lambda d: _csv(d, [(1, 5), (1e90, 7), (3, 9)]),
     ["xlopt", "run", "basic", "--data", "d.csv", "--lr", "1e-300"], 3,
     "data row 2 (sheet row 5, x = 1e+90, y = 7) gives values beyond the float range even at lr 1e-300 - "
     "scale the data", ""),
    ("linreg-data-overflows", lambda d: _csv(d, [(1, 5), (2, 7), (3, 1e300)]),
     ["torch-side", "linreg", "adam", "--data", "d.csv", "--lr", "1e-300"], 3,
     "the data themselves overflow, whatever the learning rate", "torch"),
    ("run-lr-too-large-still-blames-lr", None, ["xlopt", "run", "basic", "--lr", "1"], 3,
     "the learning rate is too large for this data - try a smaller --lr", ""),
    ("click-name-lr-deleted", _no_lr_name, ["xlopt", "click", "run", "graddesc.xlsm", "--sheet", "adam"], 2,
     "sheet 'adam' has no defined name 'lr', which the adam buttons need: restore it (Formulas > Name Manager)",
     "libreoffice"),
    ("compare-data-dir-empty", _empty_dir, ["torch-side", "compare", "--data-dir", "data"], 2,
     "--data-dir data lacks", "torch"),
]


def snapshot(d):
    out = {}
    for root, _, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, d)] = hashlib.sha256(fh.read()).hexdigest()
    return out


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input(case, tmp_path, monkeypatch, capsys):
    name, setup, argv, code, message, needs = case
    if needs == "torch":
        pytest.importorskip("torch")
    if needs == "libreoffice" and soffice_missing() is not None:
        pytest.skip("LibreOffice is not installed")
    if name == "train-data-truncated" and not os.path.isdir("/usr/share/datasets/fashion-mnist"):
        pytest.skip("Fashion-MNIST is not installed")
    if setup is not None:
        setup(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    if argv[0] == "xlopt":
        from xlopt.cli import main
    else:
        from torch_side.cli import main
    got = main(argv[1:])
    out, err = capsys.readouterr()
    assert got == code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], err
    assert lines[0].startswith(f"{argv[0]} {argv[1]}: error: ")
    assert "Traceback" not in err and out == ""
    assert snapshot(tmp_path) == before  # every file byte-identical, none added
