"""`xlopt sweep --workbook`: the sweep sheet is grafted in; every other part stays byte for byte."""
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHANGED = {"xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml", "[Content_Types].xml"}


def names_block(z):
    return re.search(r"<definedNames>.*</definedNames>", z.read("xl/workbook.xml").decode()).group(0)


@pytest.fixture(params=["graddesc.xlsm", "graddesc.xlsx"])
def book(request, tmp_path):
    path = tmp_path / request.param
    shutil.copyfile(os.path.join(ROOT, "workbooks", request.param), path)
    return path


@pytest.mark.slow
def test_adds_sheet_and_keeps_everything_else(xlopt_cli, book):
    before = zipfile.ZipFile(os.path.join(ROOT, "workbooks", book.name))
    for grid in ("lr=1e-3..3:6:log,mom=0.5,0.9", "lr=1e-3..3:5:log,mom=0.5,0.7,0.9"):  # add, then replace
        code, _, err = xlopt_cli("sweep", "adam", "--grid", grid, "--epochs", 10, "--workbook", book)
        assert code == 0, err
    after = zipfile.ZipFile(book)
    old, new = set(before.namelist()), set(after.namelist())
    assert old <= new
    assert [n for n in old if before.read(n) != after.read(n) and n not in CHANGED] == []
    assert len([n for n in new - old if n.startswith("xl/worksheets/sheet")]) == 1  # replaced, not added twice
    assert names_block(before) == names_block(after)  # every defined name, sheet indices included
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames[:-1] == openpyxl.load_workbook(os.path.join(ROOT, "workbooks", book.name)).sheetnames
    ws = wb["sweep_adam"]
    assert ws["A7"].value == "lr \\ mom" and [ws.cell(7, c).value for c in (2, 3, 4)] == ["0.5", "0.7", "0.9"]
    assert ws["A8"].value == "0.001" and isinstance(ws["B8"].value, float)
    assert ws.conditional_formatting and len(ws._charts) == 1


def test_bad_workbook_refused_nothing_written(xlopt_cli, tmp_path):
    for path in (tmp_path / "none.xlsx", tmp_path / "x.txt"):
        code, out, err = xlopt_cli("sweep", "adam", "--grid", "lr=0.1", "--workbook", path)
        assert code == 2 and "--workbook" in err and out == ""
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a zip")
    code, _, err = xlopt_cli("sweep", "adam", "--grid", "lr=0.1", "--workbook", bad)
    assert code == 2 and bad.read_text() == "not a zip"


@pytest.mark.slow
@pytest.mark.libreoffice
def test_libreoffice_still_checks_every_formula(xlopt_cli, book):
    if not shutil.which("soffice"):
        pytest.skip("LibreOffice is not installed")
    assert xlopt_cli("sweep", "rmsprop", "--grid", "lr=0.001..1:4:log", "--workbook", book)[0] == 0
    r = subprocess.run([sys.executable, "-m", "xlopt.cli", "check", str(book)], capture_output=True, text=True,
                       cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
