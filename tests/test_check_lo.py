"""The built workbook recalculated by a real spreadsheet engine (LibreOffice headless) equals the engine.

One soffice serves the test run (`lo_fixtures.lo`); the CLI tests start their own, as a user's run does.
"""
import hashlib
import math
import os
import signal
import subprocess
import sys

import openpyxl
import pytest
from lo_fixtures import lo, needs_lo  # noqa: F401  (the session's LibreOffice)

from xlopt.live import lo as lo_mod
from xlopt.live.lo import bridge as lo_bridge, group as lo_group
from xlopt.live import readback
from xlopt.core import sheets, state
from xlopt.writers import paths, workbook
from xlopt.core.engine import Data
from xlopt.core.cells import parse_ref
from xlopt.core.errors import BadInput
from xlopt.writers.excel_formula import sheet_cells

pytestmark = [pytest.mark.libreoffice, needs_lo]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMITTED = os.path.join(ROOT, "workbooks", "graddesc.xlsx")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("check")
    return {"lesson": workbook.build(str(d / "g.xlsx")),
            "full": workbook.build(str(d / "g_full.xlsx"), carry="full"),
            "random": workbook.build(str(d / "g_rand.xlsx"), Data.random(2024, 37)),
            "xlsm": _maybe_xlsm(str(d / "g.xlsm"))}


def _maybe_xlsm(path):
    try:
        return workbook.build(path)
    except BadInput:
        return None  # the buttons (xlopt/xlsm.py) are not in this checkout


def expected_count(n):
    """Formula cells: x and y on the data sheet, every cell sheet_cells lists, and the paths sheet's."""
    optimizer = sum(len(sheet_cells(sheets.get(s), n)) for s in sheets.SHEETS)
    return 2 * n + optimizer + len(paths.cells([float(i) for i in range(n)], [1.0] * n))


@pytest.mark.slow
@pytest.mark.parametrize("key, rows", [("lesson", 29), ("full", 29), ("random", 37), ("xlsm", 29)])
def test_every_formula_cell_equals_the_engine(lo, built, key, rows):  # noqa: F811
    if built[key] is None:
        pytest.skip("no xlopt/xlsm.py in this checkout")
    doc = lo.load(built[key])
    try:
        results = readback.check(doc)
    finally:
        doc.close()
    assert [r.sheet for r in results] == ["data", *sheets.SHEETS, paths.NAME]
    problems = [p for r in results for p in r.problems]
    assert not problems, problems[:5]
    assert sum(r.checked for r in results) == expected_count(rows)
    worst = max(r.max_rel for r in results)
    print(f"{key}: {sum(r.checked for r in results)} cells, largest relative difference {worst:.3g}")
    assert worst <= 1e-12


def test_recalculated_values_are_the_reset_values(lo, built):  # noqa: F811
    """Not only self-consistent: the recalculated file shows what Reset shows in the engine."""
    doc = lo.load(built["lesson"])
    try:
        for name in sheets.SHEETS:
            book = state.fresh(name)
            want = sheet_cells(book.sheet, 29, book.pass_, book.inputs)
            last = max((parse_ref(c.address)[:2] for c in want), key=lambda rc: rc[0])[0]
            rows = doc.read_raw(name, f"A1:Z{last + 1}")  # one read
            for c in want:
                r, col, _, _ = parse_ref(c.address)
                got = rows[r][col]
                assert math.isclose(got, c.value, rel_tol=1e-12, abs_tol=1e-300), (name, c.address, got, c.value)
        assert doc.read("momentum", "rmse") == pytest.approx(200.9651846012761, rel=1e-12)
    finally:
        doc.close()


@pytest.mark.slow
def test_a_workbook_edited_as_a_user_would_still_agrees(lo, built, tmp_path):  # noqa: F811
    doc = lo.load(built["lesson"])
    try:
        doc.write("adam", "lr", 0.25)          # a new lr typed in
        doc.write("momentum", "A10", 55)        # a different x in one row
        doc.write("rmsprop", "sqr_mom", 0.8)    # another beta
        doc.write("basic", "const", 3.5)
        results = readback.check(doc)
        assert all(r.ok for r in results), [p for r in results for p in r.problems][:5]
        assert doc.read("adam", "rmse") != pytest.approx(state.fresh("adam").get("rmse"))
        assert doc.read("momentum", "E10") == doc.read("momentum", "C10") + doc.read("momentum", "D10") * 55
        edited = str(tmp_path / "edited.xlsx")
        doc.save(edited)
    finally:
        doc.close()
    doc = lo.load(edited)  # and saved by LibreOffice, reloaded, recalculated
    try:
        assert doc.read("adam", "lr") == 0.25
        assert all(r.ok for r in readback.check(doc))
    finally:
        doc.close()


@pytest.mark.slow
def test_a_wrong_formula_is_reported(lo, built, tmp_path):  # noqa: F811
    path = str(tmp_path / "wrong.xlsx")
    wb = openpyxl.load_workbook(built["lesson"])
    wb["momentum"]["J5"] = "=J4*mom+(1-mom)*F5*1.0000001"
    wb["adam"]["E7"] = 12.5  # a formula typed over with a value
    wb.save(path)
    doc = lo.load(path)
    try:
        results = {r.sheet: r for r in readback.check(doc)}
    finally:
        doc.close()
    assert any("momentum!J5" in p for p in results["momentum"].problems)
    assert any("adam!E7: should hold the formula" in p for p in results["adam"].problems)
    assert results["basic"].ok


# --- the command line ----------------------------------------------------------------------------------
def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.mark.slow
def test_cli_check_of_the_committed_workbook(xlopt_cli):
    before = digest(COMMITTED)
    code, out, err = xlopt_cli("check", COMMITTED)
    assert code == 0, out + err
    n_sheets = 2 + len(sheets.SHEETS)  # data, paths and each definition's: counted from the definitions
    assert f"checked {expected_count(29)} formula cells on {n_sheets} sheet(s)" in out and "OK" in out, out
    assert digest(COMMITTED) == before


def test_cli_check_through_the_system_python(tmp_path, built):
    """The UNO calls in a /usr/bin/python3 subprocess, as when this Python's version differs."""
    if not os.path.exists(lo_bridge.SYSTEM_PYTHON):
        pytest.skip(f"no {lo_bridge.SYSTEM_PYTHON}")
    env = dict(os.environ, XLOPT_UNO="subprocess", PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, "-m", "xlopt.cli", "check", built["random"], "--sheet", "adam_ann"],
                       capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "OK" in r.stdout


@pytest.mark.slow
def test_cli_check_fails_on_a_mismatch(xlopt_cli, built, tmp_path):
    path = str(tmp_path / "wrong.xlsx")
    wb = openpyxl.load_workbook(built["lesson"])
    wb["adam"]["N33"] = "=SQRT(SUM(N4:N31))"
    wb.save(path)
    code, out, err = xlopt_cli("check", path, "--sheet", "adam")
    assert code == 1 and "adam!N33" in out and "FAILED" in out


def spoiled(src, tmp_path, edit, name="spoiled.xlsx"):
    path = str(tmp_path / name)
    wb = openpyxl.load_workbook(src)
    edit(wb)
    wb.save(path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("edit, message", [
    (lambda wb: wb.remove(wb["adam"]), "the workbook has no sheet 'adam'"),
    (lambda wb: wb["adam"].defined_names.pop("momtarget"), "sheet 'adam' has no defined name 'momtarget'"),
    (lambda wb: wb["adam"].__setitem__("D2", "fast"), "sheet 'adam' cell D2 (lr) holds the text 'fast', not a number"),
    (lambda wb: wb["rmsprop"].__setitem__("J1", None), "sheet 'rmsprop' cell J1 (sqr_mom) is empty"),
    (lambda wb: wb["momentum"].__setitem__("C1", "=1/0"), "sheet 'momentum' cell C1 (const) shows the error #DIV/0!"),
    (lambda wb: wb["basic"].__setitem__("A9", "n/a"), "sheet 'basic' cell A9 (data_x) holds the text 'n/a'"),
])
def test_bad_workbooks_get_one_clear_message(lo, built, tmp_path, edit, message):  # noqa: F811
    path = spoiled(built["lesson"], tmp_path, edit)
    before = digest(path)
    doc = lo.load(path)
    try:
        with pytest.raises(BadInput) as e:
            readback.check(doc)
    finally:
        doc.close()
    assert message in str(e.value)
    assert digest(path) == before


@pytest.mark.slow
def test_cli_bad_input_messages(xlopt_cli, built, tmp_path):
    text = tmp_path / "notes.xlsx"
    text.write_text("just some notes, not a workbook\n")
    code, out, err = xlopt_cli("check", text)
    assert code == 2 and "is not a workbook" in err and err.count("\n") == 1, err
    code, out, err = xlopt_cli("check", tmp_path / "missing.xlsx")
    assert code == 2 and "does not exist" in err
    code, out, err = xlopt_cli("check", built["lesson"], "--sheet", "nonsense")
    assert code == 2 and "--sheet 'nonsense' is not one of the lab's sheets" in err
    path = spoiled(built["lesson"], tmp_path, lambda wb: wb["adam"].__setitem__("D2", "fast"))
    before = digest(path)
    code, out, err = xlopt_cli("check", path)
    assert code == 2 and "sheet 'adam' cell D2 (lr) holds the text 'fast'" in err
    assert digest(path) == before and sorted(os.listdir(tmp_path)) == ["notes.xlsx", "spoiled.xlsx"]


@pytest.mark.parametrize("content, suffix, message", [
    (b"just some notes\n", ".txt", "is not a"),
    (b"PK\x03\x04 broken zip", ".xlsx", "is not a"),
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, ".xlsx", "is not a"),
])
def test_load_refuses_what_is_not_a_spreadsheet(lo, tmp_path, content, suffix, message):  # noqa: F811
    path = tmp_path / ("thing" + suffix)
    path.write_bytes(content)
    with pytest.raises(BadInput, match=message):
        lo.load(str(path))
    assert path.read_bytes() == content


class _Group:
    def __init__(self, pid):
        self.pid = pid

    def poll(self):
        return None


def _alive(pgid):
    return lo_group.group_alive(_Group(pgid))


@pytest.mark.slow
@pytest.mark.parametrize("exc", [KeyboardInterrupt, RuntimeError])
def test_no_soffice_is_left_running(exc):
    with pytest.raises(exc):
        with lo_mod.LibreOffice() as office:
            pgid, profile = office.proc.pid, office.profile
            doc = office.load(COMMITTED)
            doc.read("adam", "rmse")
            raise exc()
    assert not _alive(pgid) and not os.path.exists(profile)


def test_ctrl_c_while_connecting_leaves_nothing(monkeypatch):
    if not lo_bridge.uno_in_process():
        pytest.skip("UNO runs in a subprocess here")
    seen = {}

    def interrupted(self, pipe):
        seen["pgid"], seen["profile"] = office.proc.pid, office.profile
        raise KeyboardInterrupt
    monkeypatch.setattr(lo_bridge.Core, "__init__", interrupted)
    office = lo_mod.LibreOffice()
    with pytest.raises(KeyboardInterrupt):
        office.__enter__()
    assert not _alive(seen["pgid"]) and not os.path.exists(seen["profile"])
    assert signal.getsignal(signal.SIGINT) is not signal.SIG_IGN


def test_a_loaded_workbook_gets_no_lock_file_beside_it(lo, built, tmp_path):  # noqa: F811
    """A `.~lock.<name>#` written on load is left behind when soffice is killed (SIGTERM mid-click:
    CI saw it), and a GUI LibreOffice then offers to open the user's workbook read-only. The private
    profile turns locking off (UseLocking: UseDocumentOOoLockFile alone did not); our flock guards."""
    import shutil
    path = tmp_path / "g.xlsx"
    shutil.copyfile(built["lesson"], path)
    doc = lo.load(str(path))
    assert doc.read("adam", "rmse") > 0
    assert sorted(os.listdir(tmp_path)) == ["g.xlsx"]


def test_talking_to_libreoffice_leaves_imports_as_python_has_them(lo, built):  # noqa: F811
    """uno's import hook turned a missing module's ModuleNotFoundError into a plain ImportError, and
    torch's Inductor (which catches ModuleNotFoundError) then failed to compile in the same process."""
    doc = lo.load(built["lesson"])
    doc.close()
    with pytest.raises(ModuleNotFoundError):
        import xlopt_no_such_module  # noqa: F401
