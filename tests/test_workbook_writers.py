"""Every writer of a user's workbook is locked, and every save keeps what the file had.

`xlopt sweep --workbook`, `torch-side compare --workbook` and `torch-side reproduce --workbook` write
through one zip-part writer (xlopt.core.zip_parts: the workbook lock, a temp file, every other part
byte for byte); `xlopt click` saves through LibreOffice under the same lock. Here: the cached values of
the formulas survive compare and reproduce (openpyxl's load/save used to drop them all), and the four
writers (sweep twice) started at once as real processes on one workbook all land.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest
from lo_fixtures import soffice_missing

from xlopt.core import zip_parts

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
# each zip-part writer keeps its read-modify-write open this long, so two started at once overlap
# (without the lock one of them is then lost: checked by hand with locks.fcntl = None)
ENV[zip_parts.HOLD_ENV] = "5"
INDEX = {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels"}
openpyxl = pytest.importorskip("openpyxl")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from xlopt.writers import workbook
    d = tmp_path_factory.mktemp("writers")
    return {"xlsx": workbook.build(str(d / "graddesc.xlsx")), "xlsm": workbook.build(str(d / "graddesc.xlsm"))}


def parts(path):
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def cached(path):
    """Every cell's cached value (what a viewer shows before anything recalculates)."""
    wb = openpyxl.load_workbook(path, data_only=True)
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb}


def sheet_names(path):
    return re.findall(r'<sheet\b[^>]*\bname="([^"]*)"', parts(path)["xl/workbook.xml"].decode())


def assert_only_added(path, before, sheet):
    """`sheet` added; every part the file had is byte for byte as it was, but the three index files."""
    after = parts(path)
    assert set(before) <= set(after)
    assert {n for n in before if before[n] != after[n]} <= INDEX
    assert sheet in sheet_names(path)


# --- cached values survive ---------------------------------------------------------------------------
@pytest.mark.slow
def test_reproduce_keeps_every_cached_value_and_part(built, tmp_path):
    pytest.importorskip("torch")
    from torch_side.cli import reproduce_table
    path = str(tmp_path / "lab.xlsx")
    shutil.copyfile(built["xlsx"], path)
    before, values = parts(path), cached(path)
    assert isinstance(values["adam"][32][13], float)  # adam!N33, the rmse: a cached number
    row = {"accuracy": 0.5, "device_name": "CPU (test)"}
    reproduce_table.write_workbook(path, {"tiny": row})
    reproduce_table.write_workbook(path, {"tiny": dict(row, accuracy=0.75)})  # replaced, not added twice
    assert_only_added(path, before, "reproduce")
    after = cached(path)
    assert {k: v for k, v in after.items() if k != "reproduce"} == values  # adam!N33 201.91... stays
    ws = openpyxl.load_workbook(path)["reproduce"]
    assert ws["A1"].value == "experiment" and sheet_names(path).count("reproduce") == 1
    assert any(r[0].value == "tiny" and r[4].value == 0.75 for r in ws.iter_rows())


def test_reproduce_writes_a_new_workbook_when_none_is_there(tmp_path):
    pytest.importorskip("torch")
    from torch_side.cli import reproduce_table
    path = str(tmp_path / "new.xlsx")
    reproduce_table.write_workbook(path, {})
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["reproduce"] and wb["reproduce"]["A1"].value == "experiment"
    assert sorted(os.listdir(tmp_path)) == ["new.xlsx"]


@pytest.mark.slow
def test_compare_keeps_the_xlsm_whole(built, tmp_path):
    pytest.importorskip("torch")
    import pandas as pd
    from torch_side.cli.compare_report import write_sheet
    from torch_side.experiments.compare import COLUMNS
    path = str(tmp_path / "lab.xlsm")
    shutil.copyfile(built["xlsm"], path)
    before, values = parts(path), cached(path)
    write_sheet(path, pd.DataFrame([{"optimizer": "adam", "schedule": "onecycle", "accuracy": 0.9}], columns=COLUMNS))
    assert_only_added(path, before, "compare")  # VBA project, buttons, charts, names included
    assert {k: v for k, v in cached(path).items() if k != "compare"} == values


def test_the_writer_changes_only_what_it_is_told(built, tmp_path):
    path = str(tmp_path / "w.xlsm")
    shutil.copyfile(built["xlsm"], path)
    with zipfile.ZipFile(path) as z:
        infos = [(i.filename, i.date_time, i.compress_type, i.external_attr) for i in z.infolist()]
    zip_parts.update(path, lambda p: {"docProps/custom.xml": b"<x/>", "docProps/app.xml": None})
    with zipfile.ZipFile(path) as z:
        got = [(i.filename, i.date_time, i.compress_type, i.external_attr) for i in z.infolist()]
    assert got == [i for i in infos if i[0] != "docProps/app.xml"] + [got[-1]] and got[-1][0] == "docProps/custom.xml"
    assert sorted(os.listdir(tmp_path)) == ["w.xlsm"]


def test_a_broken_workbook_is_refused_and_left_alone(tmp_path):
    from xlopt.core.errors import BadInput
    path = tmp_path / "bad.xlsx"
    path.write_bytes(b"not a zip")
    with pytest.raises(BadInput, match="not a readable"):
        zip_parts.update(str(path), lambda p: {})
    assert path.read_bytes() == b"not a zip" and sorted(os.listdir(tmp_path)) == ["bad.xlsx"]


# --- any two writers at once, as real processes -------------------------------------------------------
# compare and reproduce train for minutes before they write: their processes here run the commands'
# --workbook writing path (write_sheet, _write_workbook) on a made-up result, which is what races.
COMPARE = ("import sys, pandas as pd; from torch_side.cli.compare_report import write_sheet; "
           "from torch_side.experiments.compare import COLUMNS; "
           "write_sheet(sys.argv[1], pd.DataFrame([{'optimizer': 'adam', 'schedule': 'onecycle', "
           "'accuracy': 0.9}], columns=COLUMNS))")
REPRODUCE = ("import sys; from torch_side.cli.reproduce_table import write_workbook as _write_workbook; "
             "_write_workbook(sys.argv[1], {'tiny': {'accuracy': 0.5}})")


def writer(kind, path):
    """(argv, what it leaves in the workbook) of one writer."""
    py = [sys.executable]
    if kind.startswith("sweep"):
        sheet = kind.split(":")[1]
        return (py + ["-m", "xlopt.cli", "sweep", sheet, "--grid", "lr=0.001,0.01,0.1", "--epochs", "5",
                      "--workbook", path], f"sweep_{sheet}")
    if kind == "compare":
        return py + ["-c", COMPARE, path], "compare"
    if kind == "reproduce":
        return py + ["-c", REPRODUCE, path], "reproduce"
    return py + ["-m", "xlopt.cli", "click", "run", path, "--sheet", "adam"], "clicked adam"


def adam_const(path):
    """adam's const as saved (1.0 as built, after Reset; a Run moves it)."""
    wb = openpyxl.load_workbook(path, data_only=True)
    dest = next(iter(wb["adam"].defined_names["const"].destinations))
    return wb[dest[0]][dest[1].replace("$", "")].value


KINDS = ["sweep:adam", "sweep:momentum", "compare", "reproduce", "click"]


@pytest.mark.slow
def test_every_writer_at_once_each_change_lands(built, tmp_path):
    """The five writers started together on one workbook (each pair of them races, and so do two of
    the same command): each waits for the file's lock, reads what the one before it wrote and adds its
    own, so every change lands. (One run of all five checks what a run of each pair checked, in a
    seventh of the time.)"""
    if soffice_missing():
        pytest.skip(soffice_missing())
    pytest.importorskip("torch")
    path = str(tmp_path / "graddesc.xlsm")
    shutil.copyfile(built["xlsm"], path)
    before = parts(path)
    writers = [writer(kind, path) for kind in KINDS]
    procs = [subprocess.Popen(argv, cwd=ROOT, env=ENV, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for argv, _ in writers]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * len(KINDS), json.dumps([o[1][-2000:] for o in outs])
    names = sheet_names(path)
    for _, leaves in writers:
        if leaves == "clicked adam":
            assert adam_const(path) != 1.0  # the click's Run was not written over
        else:
            assert names.count(leaves) == 1, names
    after = parts(path)
    assert after["xl/vbaProject.bin"] == before["xl/vbaProject.bin"]  # and nothing else was lost
    assert [n for n in before if n.startswith("xl/drawings/vmlDrawing") and after.get(n) != before[n]] == []
    assert sorted(os.listdir(tmp_path)) == ["graddesc.xlsm"]  # no temp file left
