"""`xlopt build` without a spreadsheet engine: names, formulas and cached values read back by openpyxl,
the committed workbook up to date, and bad input refused with nothing written."""
import hashlib
import os
import zipfile

import openpyxl
import pytest

from xlopt.core import sheets, state
from xlopt.writers import paths, workbook
from xlopt.core.engine import Data
from xlopt.core.errors import BadInput
from xlopt.writers.excel_formula import sheet_cells

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMITTED = os.path.join(ROOT, "workbooks", "graddesc.xlsx")
SHEET_ORDER = ["instructions", paths.NAME, "data", *sheets.SHEETS]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("wb")
    return {"lesson": workbook.build(str(d / "g.xlsx")),
            "full": workbook.build(str(d / "g_full.xlsx"), carry="full"),
            "random": workbook.build(str(d / "g_rand.xlsx"), Data.random(7, 41))}


def defined_names(wb, sheet):
    ws = wb[sheet]
    return {n: dn.attr_text.split("!", 1)[1] for n, dn in ws.defined_names.items() if n != sheets.KIND_NAME}


@pytest.mark.slow
def test_each_sheet_says_what_it_is(built):
    wb = openpyxl.load_workbook(built["lesson"])
    for name in sheets.SHEETS:
        assert wb[name].defined_names[sheets.KIND_NAME].attr_text == f'"{name}"'



@pytest.mark.slow
@pytest.mark.parametrize("key, data", [("lesson", Data.lesson()), ("random", Data.random(7, 41))])
def test_names_formulas_and_cached_values(built, key, data):
    wb = openpyxl.load_workbook(built[key])
    cached = openpyxl.load_workbook(built[key], data_only=True)
    assert wb.sheetnames == SHEET_ORDER
    assert wb.defined_names["carry"].attr_text == '"lesson"'
    n = len(data.x)
    for name in sheets.SHEETS:
        sheet, ws, wv = sheets.get(name), wb[name], cached[name]
        assert defined_names(wb, name) == sheet.names(n)
        book = state.fresh(name, data)
        cells = sheet_cells(sheet, n, book.pass_, book.inputs)
        for c in cells:
            assert ws[c.address].value == c.formula, (name, c.address)
            assert wv[c.address].value == c.value, (name, c.address)  # exact: the engine's floats
        # the values Reset leaves: top values, targets, data, the log's first row
        assert [ws["C1"].value, ws["C2"].value, ws[sheet.lr_cell].value] == \
               [book.inputs["const"], book.inputs["slope"], book.inputs["lr"]]
        for h, (cell, _) in sheet.hyper.items():
            assert ws[cell].value == book.inputs[h]
        first, last, s = sheet.rows(n)
        for target, keys in ((t.name, t.keys) for t in sheet.targets):
            assert [ws[f"{sheet.state[k]}{s}"].value for k in keys] == book.inputs[target]
        assert [ws[f"A{r}"].value for r in range(first, last + 1)] == data.x
        assert [ws[f"B{r}"].value for r in range(first, last + 1)] == data.y
        head, reset, e0, e1 = sheet.log_rows(n)
        assert [ws.cell(reset, c).value for c in range(2, 7)] == \
               [book.log[0][k] for k in ("epoch", "rmse", "const", "slope", "lr")]
        assert ws.cell(e0, 2).value is None
        assert ws.freeze_panes == "A4"
        # every formula of the sheet is one xlopt knows
        formulas = {c.coordinate for row in ws.iter_rows() for c in row
                    if isinstance(c.value, str) and c.value.startswith("=")}
        assert formulas == {c.address for c in cells}
        assert len(ws._charts) == 2
    ps, pv = wb[paths.NAME], cached[paths.NAME]
    tops = {name: (1.0, 1.0) for name in sheets.SHEETS}  # Reset's const and slope
    want = paths.cells(data.x, data.y, tops=tops)
    for c in want:
        assert ps[c.address].value == c.formula and pv[c.address].value == c.value, c
    assert {c.coordinate for row in ps.iter_rows() for c in row if isinstance(c.value, str)
            and c.value.startswith("=")} == {c.address for c in want} | {f"{paths.contour_columns(i)[0]}{paths.TABLE_ROW}"
                                                                         for i in range(len(paths.LEVELS))}
    assert len(ps._charts) == 4
    ds, dv = wb["data"], cached["data"]
    assert ds["C1"].value == sheets.TRUE_B and ds["C2"].value == sheets.TRUE_A
    for i, (x, y) in enumerate(zip(data.x, data.y)):
        assert ds[f"B{5 + i}"].value == "=RANDBETWEEN(1,100)" and dv[f"B{5 + i}"].value == x
        assert ds[f"C{5 + i}"].value == f"=$C$1+$C$2*B{5 + i}" and dv[f"C{5 + i}"].value == y


def test_carry_mode_is_a_workbook_name(built):
    assert openpyxl.load_workbook(built["full"]).defined_names["carry"].attr_text == '"full"'


@pytest.mark.slow
def test_momentum_shows_the_lesson_values_after_reset(built):
    wv = openpyxl.load_workbook(built["lesson"], data_only=True)
    assert wv["momentum"]["J33"].value == -18.33392669020789
    assert wv["momentum"]["K33"].value == 98.24583039212854
    assert wv["momentum"]["L33"].value == pytest.approx(200.9651846012761, rel=1e-15)
    assert wv["basic"]["F33"].value == pytest.approx(150.7552, abs=1e-4)
    assert wv["basic"]["N4"].value == pytest.approx(1.0086, rel=1e-12)


def members(path):
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i.filename) for i in z.infolist()}


def test_builds_are_byte_for_byte_repeatable(built, tmp_path):
    again = workbook.build(str(tmp_path / "g.xlsx"))
    with open(built["lesson"], "rb") as a, open(again, "rb") as b:
        assert hashlib.sha256(a.read()).digest() == hashlib.sha256(b.read()).digest()


def test_the_committed_workbook_is_what_xlopt_build_writes(built):
    """Fails when workbooks/graddesc.xlsx is stale: rebuild it with
    `xlopt build -o workbooks/graddesc.xlsx --force` and commit it."""
    assert os.path.exists(COMMITTED), "workbooks/graddesc.xlsx is missing"
    want, got = members(built["lesson"]), members(COMMITTED)
    assert sorted(got) == sorted(want)
    stale = [m for m in want if want[m] != got[m]]
    assert not stale, f"workbooks/graddesc.xlsx is stale in {stale}: run `xlopt build -o workbooks/graddesc.xlsx --force`"


# --- the command line ------------------------------------------------------------------------------
@pytest.mark.slow
def test_cli_build_writes_and_reports(xlopt_cli, tmp_path):
    out = tmp_path / "r.xlsx"
    code, stdout, err = xlopt_cli("build", "-o", out, "--data", "random", "--seed", 3, "--rows", 12)
    assert code == 0, err
    assert "12 data rows" in stdout and out.exists()
    wb = openpyxl.load_workbook(out, data_only=True)
    assert [wb["adam"][f"A{r}"].value for r in range(4, 16)] == Data.random(3, 12).x
    assert defined_names(openpyxl.load_workbook(out), "adam")["rmse"] == "$N$16"


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def test_existing_output_needs_force(xlopt_cli, tmp_path):
    out = tmp_path / "g.xlsx"
    out.write_bytes(b"precious")
    code, _, err = xlopt_cli("build", "-o", out)
    assert code != 0 and "exists; pass --force" in err and err.count("\n") == 1
    assert out.read_bytes() == b"precious"
    code, _, err = xlopt_cli("build", "-o", out, "--force")
    assert code == 0, err
    assert zipfile.is_zipfile(out)


@pytest.mark.parametrize("args, message", [
    (["--rows", "40"], "--rows 40 needs --data random"),
    (["--data", "random", "--rows", "1"], "--rows must be at least 2"),
    (["--data", "random", "--rows", "100000"], "--rows must be at most"),
])
def test_bad_options(xlopt_cli, tmp_path, args, message):
    out = tmp_path / "g.xlsx"
    code, _, err = xlopt_cli("build", "-o", out, *args)
    assert code != 0 and message in err
    assert not out.exists() and os.listdir(tmp_path) == []


def test_bad_output_paths(xlopt_cli, tmp_path):
    code, _, err = xlopt_cli("build", "-o", tmp_path / "g.csv")
    assert code != 0 and "must end in .xlsx" in err
    code, _, err = xlopt_cli("build", "-o", tmp_path / "nope" / "g.xlsx")
    assert code != 0 and "does not exist" in err
    (tmp_path / "d.xlsx").mkdir()
    code, _, err = xlopt_cli("build", "-o", tmp_path / "d.xlsx", "--force")
    assert code != 0 and "is a folder" in err


def test_unwritable_folder(xlopt_cli, tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        if os.access(ro, os.W_OK):  # root writes anyway: pretend the check saw what a user sees
            real = os.access
            monkeypatch.setattr(os, "access", lambda p, m: False if str(p) == str(ro) else real(p, m))
        code, _, err = xlopt_cli("build", "-o", ro / "g.xlsx")
        assert code != 0 and "is not writable" in err
        assert os.listdir(ro) == []
    finally:
        ro.chmod(0o755)


@pytest.mark.parametrize("exc", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_a_failed_build_leaves_no_half_written_file(tmp_path, monkeypatch, exc):
    out = tmp_path / "g.xlsx"
    out.write_bytes(b"old")

    def broken(path, *a, **k):
        with open(path, "wb") as f:
            f.write(b"PK half")
        raise exc
    monkeypatch.setattr(workbook, "write", broken)
    with pytest.raises(type(exc)):
        workbook.build(str(out), force=True)
    assert out.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["g.xlsx"]


def test_bad_carry_is_refused(tmp_path):
    with pytest.raises(BadInput, match="carry"):
        workbook.build(str(tmp_path / "g.xlsx"), carry="sideways")
    assert os.listdir(tmp_path) == []
