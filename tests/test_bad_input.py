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
    from torch_side.learn.checkpoint import FORMAT, save_atomic
    from torch_side.experiments.recipes import get_recipe
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


def _zip_part(d, name, part, change):
    """The built workbook saved as `name` with one zip part's bytes passed through `change`."""
    import zipfile
    with zipfile.ZipFile(WORKBOOK) as zin, zipfile.ZipFile(d / name, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, change(data) if info.filename == part else data)


EXTERNAL = b'<!DOCTYPE sst [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
BOMB = (b'<!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>')


def _doctype(decl):
    def change(data):
        head, rest = data.split(b"?>", 1)
        return head + b"?>" + decl + rest.replace(b"<t>", b"<t>&x;" if b"SYSTEM" in decl else b"<t>&c;", 1)
    return change


def _latin1(data):
    """A part re-encoded as Latin-1 without saying so: an e-acute that is not UTF-8."""
    return data.replace(b"<t>", "<t>caf\u00e9 ".encode("latin-1"), 1)


def _utf16(data):
    """A part re-encoded as UTF-16, as it declares."""
    return data.decode("utf-8").replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")


def _declared_latin1(data):
    """A part that declares Latin-1 and holds an e-acute in it: well-formed, but not UTF-8."""
    return _latin1(data.replace(b'encoding="UTF-8"', b'encoding="ISO-8859-1"', 1))


def _openpyxl_edit(d, sheet, cell, value):
    import openpyxl
    wb = openpyxl.load_workbook(WORKBOOK, keep_vba=True)
    wb[sheet][cell] = value
    wb.save(d / "graddesc.xlsm")


def _fifo(d, name):
    os.mkfifo(d / name)


def _state_edit(d, edit):
    _state(d)
    s = json.loads((d / "s.json").read_text())
    edit(s)
    (d / "s.json").write_text(json.dumps(s))


def _full_checkpoint(d, drop=None, **change):
    """run/checkpoint.pt with every field CheckpointCB writes, less `drop`, with `change` applied."""
    import torch

    from torch_side.learn.checkpoint import FORMAT, save_atomic
    from torch_side.experiments.recipes import get_recipe
    r = get_recipe("resnet-5ep")
    config = {"opt": r.opt, "sched": r.sched, "lr": r.lr, "bs": r.bs}
    ckpt = {"format": FORMAT, "model_name": r.model, "recipe": r.name, "config": config, "epoch": 0,
            "n_epochs": r.epochs, "steps_per_epoch": 235, "model": {}, "opt": {}, "scheds": [], "history": [],
            "loader_rng": None, "torch_rng": torch.get_rng_state()}
    ckpt.pop(drop, None)
    ckpt.update(change)
    (d / "run").mkdir()
    save_atomic(ckpt, d / "run" / "checkpoint.pt")


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
    # --- issue 19: text that is not UTF-8, oversized fields, damaged state files, FIFOs -----------------
    ("run-csv-latin1", lambda d: (d / "d.csv").write_bytes(b"x,y\n1,2\n3,\xe94\n"),
     ["xlopt", "run", "adam", "--data", "d.csv"], 2,
     "data file d.csv is not UTF-8 text (byte 0xe9 at offset 10; a Latin-1 or UTF-16 file?): save it as CSV UTF-8", ""),
    ("run-csv-utf16", lambda d: (d / "d.csv").write_bytes("x,y\n1,2\n2,3\n".encode("utf-16")),
     ["xlopt", "run", "adam", "--data", "d.csv"], 2, "data file d.csv is not UTF-8 text (byte 0xff at offset 0", ""),
    ("sweep-csv-latin1", lambda d: (d / "d.csv").write_bytes(b"x,y\n1,2\n3,\xe94\n"),
     ["xlopt", "sweep", "adam", "--grid", "lr=0.1", "--data", "d.csv"], 2, "data file d.csv is not UTF-8 text", ""),
    ("linreg-csv-utf16", lambda d: (d / "d.csv").write_bytes("x,y\n1,2\n2,3\n".encode("utf-16")),
     ["torch-side", "linreg", "adam", "--data", "d.csv"], 2, "data file d.csv is not UTF-8 text", "torch"),
    ("run-csv-field-over-128k", lambda d: (d / "d.csv").write_text("x,y\n1," + "2" * 140_000 + "\n"),
     ["xlopt", "run", "adam", "--data", "d.csv"], 2,
     "data file d.csv is not a CSV of x,y numbers (field larger than field limit (131072))", ""),
    ("run-data-fifo", lambda d: _fifo(d, "d.csv"), ["xlopt", "run", "adam", "--data", "d.csv"], 2,
     "data file d.csv is a pipe; give a plain file", ""),
    ("run-state-fifo", lambda d: _fifo(d, "s.json"), ["xlopt", "run", "adam", "--state", "s.json"], 2,
     "state file s.json is a pipe; give a plain file", ""),
    ("show-state-fifo", lambda d: _fifo(d, "s.json"), ["xlopt", "show", "adam", "--state", "s.json"], 2,
     "state file s.json is a pipe; give a plain file", ""),
    ("run-state-log-junk", lambda d: _state_edit(d, lambda s: s["log"].append("junk")),
     ["xlopt", "run", "adam", "--state", "s.json"], 2, "state file s.json: the epoch log is missing or malformed", ""),
    ("run-state-log-text-rmse", lambda d: _state_edit(d, lambda s: s["log"][0].update(rmse="x")),
     ["xlopt", "run", "adam", "--state", "s.json"], 2,
     "state file s.json: entry 1 of the epoch log has rmse = 'x'; each entry needs numbers epoch, rmse", ""),
    ("run-state-log-epoch-back", lambda d: _state_edit(d, lambda s: s["log"].append(dict(s["log"][0]))),
     ["xlopt", "run", "adam", "--state", "s.json"], 2, "entry 2 of the epoch log has epoch = 0", ""),
    ("run-state-nested", lambda d: (d / "s.json").write_text("[" * 100_000 + "]" * 100_000),
     ["xlopt", "run", "adam", "--state", "s.json"], 2,
     "state file s.json is corrupt (nested too deeply to be a state file); delete it to start from Reset", ""),
    ("run-state-short-list", lambda d: _state_edit(d, lambda s: s["inputs"].update(momtarget=[0.0])),
     ["xlopt", "run", "adam", "--state", "s.json"], 2,
     "state file s.json: input 'momtarget' holds [0.0]; it must be a list of 2 numbers", ""),
    ("run-state-list-for-number", lambda d: _state_edit(d, lambda s: s["inputs"].update(lr=[1.0])),
     ["xlopt", "run", "adam", "--state", "s.json"], 2, "input 'lr' holds [1.0]; it must be one number", ""),
    ("linreg-state-short-list", lambda d: _state_edit(d, lambda s: s["inputs"].update(gradtarget=[])),
     ["torch-side", "linreg", "adam", "--state", "s.json"], 2, "input 'gradtarget' holds []", "torch"),
    # --- betas outside [0, 1), upper bounds ----------------------------------------------------------------
    ("sweep-grid-beta-one", None, ["xlopt", "sweep", "adam", "--grid", "lr=0.1,mom=0.9,1"], 2,
     "--grid mom=0.9,1: mom is a beta and must be in [0, 1) (got 1)", ""),
    ("sweep-grid-beta-negative", None, ["xlopt", "sweep", "adam", "--grid", "sqr_mom=-0.1..0.9:3"], 2,
     "--grid sqr_mom=-0.1..0.9:3: sqr_mom is a beta and must be in [0, 1) (got -0.1)", ""),
    ("sweep-grid-lion-beta2", None, ["xlopt", "sweep", "lion", "--grid", "beta2=0.5..1.5:3"], 2,
     "beta2 is a beta and must be in [0, 1) (got 1.5)", ""),
    ("torch-sweep-grid-beta", None, ["torch-side", "sweep", "adam", "--grid", "mom=1.2"], 2,
     "mom is a beta and must be in [0, 1) (got 1.2)", "torch"),
    ("run-state-lion-beta2", lambda d: _lion_state(d),
     ["xlopt", "run", "lion", "--state", "l.json"], 2, "beta2 (a beta) is 1.0; it must be a number in [0, 1)", ""),
    ("run-rows-huge", None, ["xlopt", "run", "adam", "--data", "random", "--rows", "1000000000000"], 2,
     "--rows must be at most 10000, got 1000000000000", ""),
    ("sweep-rows-huge", None, ["xlopt", "sweep", "adam", "--grid", "lr=0.1", "--data", "random", "--rows",
                               "1000000000000"], 2, "--rows must be at most 10000, got 1000000000000", ""),
    ("build-rows-huge", None, ["xlopt", "build", "--data", "random", "--rows", "1000000000000"], 2,
     "--rows must be at most 10000, got 1000000000000", ""),
    ("sched-plot-epochs-huge", None, ["torch-side", "sched-plot", "--out", "s.png", "--epochs", "100000000"], 2,
     "--epochs must be at most 1000, got 100000000", "torch"),
    ("sched-plot-steps-huge", None, ["torch-side", "sched-plot", "--out", "s.png", "--epochs", "900", "--bs", "1"],
     2, "900 epochs x 60000 batches = 54000000 steps; at most 1000000 can be plotted", "torch"),
    ("train-epochs-huge", None, ["torch-side", "train", "--recipe", "resnet-5ep", "--epochs", "100000", "--out", "run"],
     2, "--epochs must be at most 1000, got 100000", "torch"),
    ("lr-find-gamma-one", None, ["torch-side", "lr-find", "--out", "l.png", "--gamma", "1"], 2,
     "--gamma must be a number in (1, 10)", "torch"),
    ("lr-find-gamma-zero", None, ["torch-side", "lr-find", "--out", "l.png", "--gamma", "0"], 2,
     "--gamma must be a number in (1, 10)", "torch"),
    ("lr-find-gamma-nan", None, ["torch-side", "lr-find", "--out", "l.png", "--gamma", "nan"], 2,
     "--gamma must be a number in (1, 10) (the lr's growth per batch: 1.3 grows it 30 % a batch), got nan", "torch"),
    ("lr-find-start-lr-zero", None, ["torch-side", "lr-find", "--out", "l.png", "--start-lr", "0"], 2,
     "--start-lr must be a number in (0, 10) (the finder's first learning rate), got 0.0", "torch"),
    ("show-batch-out-missing-folder", None, ["torch-side", "show-batch", "--out", "nodir/b.png"], 2,
     "--out nodir/b.png: folder", "torch"),
    ("torch-sweep-device-tpu", None, ["torch-side", "sweep", "adam", "--grid", "lr=0.1", "--device", "tpu"], 2,
     "--device tpu: choose cpu, cuda (cuda:N) or auto", "torch"),
    ("train-device-tpu", None, ["torch-side", "train", "--recipe", "resnet-5ep", "--device", "tpu", "--out", "run"],
     2, "--device tpu: choose cpu, cuda (cuda:N) or auto", "torch"),
    # --- --out under a file ----------------------------------------------------------------------------------
    ("train-out-under-file", _out_file, ["torch-side", "train", "--recipe", "resnet-5ep", "--out", "out/run"], 2,
     "is a file, not a folder; choose another place", "torch"),
    ("sched-plot-out-under-file", _out_file, ["torch-side", "sched-plot", "--out", "out/s.png"], 2,
     "is a file, not a folder", "torch"),
    ("activations-out-under-file", _out_file, ["torch-side", "activations", "--out", "out/act"], 2,
     "is a file, not a folder; choose another place", "torch"),
    ("reproduce-out-under-file", _out_file, ["torch-side", "reproduce", "--only", "lesson-conv", "--out", "out/r"], 2,
     "is a file, not a folder; choose another place", "torch"),
    # --- checkpoints ---------------------------------------------------------------------------------------------
    ("train-resume-no-model-name", lambda d: _full_checkpoint(d, drop="model_name"),
     ["torch-side", "train", "--recipe", "resnet-5ep", "--out", "run", "--resume"], 2,
     "lacks 'model_name', which every torch-side checkpoint holds", "torch"),
    ("train-resume-no-n-epochs", lambda d: _full_checkpoint(d, drop="n_epochs"),
     ["torch-side", "train", "--recipe", "resnet-5ep", "--out", "run", "--resume"], 2,
     "lacks 'n_epochs', which every torch-side checkpoint holds", "torch"),
    ("train-resume-list-config", lambda d: _full_checkpoint(d, config=["adam"]),
     ["torch-side", "train", "--recipe", "resnet-5ep", "--out", "run", "--resume"], 2,
     "holds config = list, not what torch-side writes", "torch"),
    # --- workbooks that would be damaged ------------------------------------------------------------------------
    ("click-macro-workbook-named-xlsx", lambda d: shutil.copyfile(WORKBOOK, d / "graddesc.xlsx"),
     ["xlopt", "click", "run", "graddesc.xlsx", "--sheet", "adam"], 2,
     "is a macro workbook (it holds a VBA project) named .xlsx; saving it as .xlsx would drop its macros and "
     "buttons - rename it to .xlsm", ""),
    ("click-external-entity", lambda d: _zip_part(d, "graddesc.xlsm", "xl/sharedStrings.xml", _doctype(EXTERNAL)),
     ["xlopt", "click", "run", "graddesc.xlsm", "--sheet", "adam"], 2,
     "its part xl/sharedStrings.xml declares a document type (entities)", ""),
    ("click-entity-bomb", lambda d: _zip_part(d, "graddesc.xlsm", "xl/sharedStrings.xml", _doctype(BOMB)),
     ["xlopt", "click", "run", "graddesc.xlsm", "--sheet", "adam"], 2,
     "its part xl/sharedStrings.xml declares a document type (entities)", ""),
    ("check-external-entity", lambda d: _zip_part(d, "graddesc.xlsm", "xl/sharedStrings.xml", _doctype(EXTERNAL)),
     ["xlopt", "check", "graddesc.xlsm"], 2, "its part xl/sharedStrings.xml declares a document type", ""),
    ("click-latin1-part", lambda d: _zip_part(d, "graddesc.xlsm", "xl/sharedStrings.xml", _latin1),
     ["xlopt", "click", "run", "graddesc.xlsm", "--sheet", "adam"], 2,
     "its part xl/sharedStrings.xml is not well-formed XML (not well-formed (invalid token)", ""),
    ("click-utf16-part", lambda d: _zip_part(d, "graddesc.xlsm", "xl/workbook.xml", _utf16),
     ["xlopt", "click", "run", "graddesc.xlsm", "--sheet", "adam"], 2,
     "its part xl/workbook.xml is UTF-16 (byte 0); spreadsheets write UTF-8 - open it in your spreadsheet", ""),
    ("check-utf16-part", lambda d: _zip_part(d, "graddesc.xlsm", "xl/workbook.xml", _utf16),
     ["xlopt", "check", "graddesc.xlsm"], 2, "its part xl/workbook.xml is UTF-16", ""),
    ("click-declared-latin1-part", lambda d: _zip_part(d, "graddesc.xlsm", "xl/sharedStrings.xml", _declared_latin1),
     ["xlopt", "click", "run", "graddesc.xlsm", "--sheet", "adam"], 2,
     "its part xl/sharedStrings.xml is not UTF-8", ""),
    ("click-formulas-replaced-by-values", lambda d: _openpyxl_edit(d, "adam", "E4", 9.21058),
     ["xlopt", "click", "run", "graddesc.xlsm", "--sheet", "adam"], 2,
     "sheet 'adam', cell E4 (", "libreoffice"),
    ("click-beta-cell-one", lambda d: _openpyxl_edit(d, "adam", "J1", 1.0),
     ["xlopt", "click", "run", "graddesc.xlsm", "--sheet", "adam"], 2,
     "sheet 'adam', cell J1 (mom) holds 1.0; mom is a beta and must be a number in [0, 1)", "libreoffice"),
    ("click-beta-cell-negative", lambda d: _openpyxl_edit(d, "lion", "L1", -0.5),
     ["xlopt", "click", "reset", "graddesc.xlsm", "--sheet", "lion"], 2,
     "sheet 'lion', cell L1 (beta2) holds -0.5; beta2 is a beta", "libreoffice"),
    ("compare-workbook-entity", lambda d: _zip_part(d, "w.xlsx", "xl/sharedStrings.xml", _doctype(BOMB)),
     ["torch-side", "compare", "--workbook", "w.xlsx"], 2,
     "its part xl/sharedStrings.xml declares a document type", "torch"),
]


def _lion_state(d):
    book = state.fresh("lion")
    state.save(book, "lesson", str(d / "l.json"))
    s = json.loads((d / "l.json").read_text())
    s["inputs"]["beta2"] = 1.0
    (d / "l.json").write_text(json.dumps(s))


def snapshot(d):
    out = {}
    for root, _, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            if not os.path.isfile(p):  # a FIFO (opening it would block): its kind stands for its content
                out[os.path.relpath(p, d)] = oct(os.lstat(p).st_mode)
                continue
            with open(p, "rb") as fh:
                out[os.path.relpath(p, d)] = hashlib.sha256(fh.read()).hexdigest()
    return out


def _tiered(cases):
    """Each case loading a workbook in LibreOffice takes seconds: the first stays in the fast tier."""
    first_lo = next(c for c in cases if c[5] == "libreoffice")
    return [pytest.param(c, id=c[0], marks=pytest.mark.slow if c[5] == "libreoffice" and c is not first_lo else ())
            for c in cases]


@pytest.mark.parametrize("case", _tiered(CASES))
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


@pytest.mark.parametrize("error", [ValueError("a bug"), OSError(5, "Input/output error"), KeyError("k")],
                         ids=["ValueError", "OSError-EIO", "KeyError"])
def test_an_internal_error_keeps_its_traceback(monkeypatch, capsys, error):
    """Not bad input: the exception propagates (the interpreter prints its traceback, exit 1)."""
    from xlopt.cli import main
    from xlopt.core import runner

    def broken(args, make_book=None):
        raise error
    monkeypatch.setattr(runner, "run", broken)
    with pytest.raises(type(error)):
        main(["run", "adam"])
    assert "error:" not in capsys.readouterr().err


def test_a_library_valueerror_in_torch_side_is_a_bug(monkeypatch, capsys):
    """command_main takes a ValueError for bad input only when torch_side or xlopt raised it."""
    pytest.importorskip("torch")
    import numpy as np

    from torch_side.cli import command_main
    with pytest.raises(ValueError):
        command_main("train", lambda args: np.reshape(np.arange(3), (2, 2)))(None)
    assert command_main("train", lambda args: _raise_ours())(None) == 2
    assert "torch-side train: error: --bs must be a positive integer, got 0" in capsys.readouterr().err


def _raise_ours():
    from types import SimpleNamespace

    from torch_side.cli.train import recipe_from_args
    recipe_from_args(SimpleNamespace(recipe="resnet-5ep", epochs=None, bs=0, subset=None, lr=None, opt=None,
                                     sched=None))
