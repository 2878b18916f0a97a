"""`xlopt click` through LibreOffice: the macros on a real spreadsheet engine, against `xlopt run`.

One soffice serves the whole test run. Each check presses the buttons the way a user does: every press
loads the file, recalculates it, presses, saves, so the file's own formulas do the arithmetic.
"""
import hashlib
import math
import os
import re
import shutil
import time
import zipfile

import pytest
from lo_fixtures import lo, press_every_sheet  # noqa: F401  (the session's LibreOffice)

from xlopt.cli import click as cmd_click
from xlopt.core import buttons, sheets, state
from xlopt.writers import xlsm
from xlopt.core.engine import Data
from xlopt.core.errors import BadInput, Diverged
from xlopt.live.lo import UnoBook

pytestmark = pytest.mark.libreoffice
RTOL = 1e-12
RUN_CLICKS = 2  # 10 epochs: adam_ann anneals at epochs 7, 8 (lesson) and 8, 9 (full)




@pytest.fixture(scope="module")
def workbooks(tmp_path_factory):
    from xlopt.writers import workbook
    d = tmp_path_factory.mktemp("click")
    return {"xlsm": workbook.build(str(d / "graddesc.xlsm")),
            "full": workbook.build(str(d / "graddesc_full.xlsx"), carry="full"),
            "rows100": workbook.build(str(d / "graddesc_100.xlsx"), Data.random(3, 100))}


def copy(src, tmp_path, name=None):
    dst = str(tmp_path / (name or os.path.basename(src)))
    shutil.copyfile(src, dst)
    return dst


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def close(a, b):
    return a == b or math.isclose(a, b, rel_tol=RTOL, abs_tol=0.0)


def assert_log_matches(got, want):
    assert [e["epoch"] for e in got] == [e["epoch"] for e in want]
    for g, w in zip(got, want):
        for k in w:
            if k in g and g[k] is not None:
                assert close(g[k], w[k]), (g["epoch"], k, g[k], w[k])


def read_sheet(lo, path, sheet):
    doc = lo.load(path)
    try:
        book = UnoBook(doc, sheet)
        return {k: book.get(k) for k in ("const", "slope", "lr")}, book.read_log()
    finally:
        doc.close()


@pytest.fixture(scope="module")
def pressed(lo, workbooks, tmp_path_factory):
    """Per carry, lazily: Reset then RUN_CLICKS Runs of every sheet, each press a load and a save of the
    file as `xlopt click` does it (all sheets pressed in the same load), then every sheet read back from
    the saved file: {sheet: (top values, epoch log)}."""
    done = {}

    def get(carry):
        if carry not in done:
            path = copy(workbooks["xlsm" if carry == "lesson" else "full"], tmp_path_factory.mktemp(f"pressed_{carry}"))
            assert cmd_click.workbook_carry(path) == carry
            press_every_sheet(lo, path, "reset", carry)
            for _ in range(RUN_CLICKS):
                press_every_sheet(lo, path, "run", carry)
            doc = lo.load(path)
            try:
                done[carry] = {}
                for name in sheets.SHEETS:
                    book = UnoBook(doc, name)
                    done[carry][name] = {k: book.get(k) for k in ("const", "slope", "lr")}, book.read_log()
            finally:
                doc.close()
        return done[carry]
    return get


@pytest.mark.slow
@pytest.mark.parametrize("carry", buttons.CARRIES)
@pytest.mark.parametrize("name", sheets.SHEETS)
def test_reset_then_runs_land_where_xlopt_run_does(pressed, name, carry):
    """Every sheet, both carries: Reset and two Runs pressed through LibreOffice (the sheets share each
    press's load and save, see `pressed`) land where `xlopt run` does, top values and log, within 1e-12."""
    top, log = pressed(carry)[name]
    ref = state.fresh(name)
    buttons.run(ref, buttons.EPOCHS_PER_CLICK * RUN_CLICKS, carry)  # what `xlopt run` does
    for k, v in top.items():
        assert close(v, ref.get(k)), (k, v, ref.get(k))
    assert_log_matches(log, ref.read_log())
    if name == "adam_ann":
        lrs = [e["lr"] for e in log]
        assert lrs == [e["lr"] for e in ref.read_log()] and len(set(lrs)) == 3  # annealed twice


@pytest.mark.slow
def test_one_sheet_pressed_through_the_command_lands_where_xlopt_run_does(lo, workbooks, tmp_path):
    """The same through `cmd_click.click` itself (its carry read from the file, its summary), on the
    sheet that anneals."""
    path = copy(workbooks["full"], tmp_path)
    cmd_click.click(path, "reset", "adam_ann", lo=lo)
    for _ in range(RUN_CLICKS):
        r = cmd_click.click(path, "run", "adam_ann", lo=lo)
        assert r["carry"] == "full"
    ref = state.fresh("adam_ann")
    buttons.run(ref, buttons.EPOCHS_PER_CLICK * RUN_CLICKS, "full")
    assert close(r["top"]["const"], ref.get("const")) and close(r["top"]["slope"], ref.get("slope"))
    top, log = read_sheet(lo, path, "adam_ann")
    assert_log_matches(log, ref.read_log())


@pytest.mark.slow
def test_carry_can_be_overridden(lo, workbooks, tmp_path):
    path = copy(workbooks["xlsm"], tmp_path)
    cmd_click.click(path, "reset", "momentum", lo=lo)
    r = cmd_click.click(path, "run", "momentum", times=2, carry="full", lo=lo)
    ref = state.fresh("momentum")
    buttons.run(ref, 10, "full")
    assert r["carry"] == "full" and close(r["top"]["const"], ref.get("const"))
    assert close(r["top"]["slope"], ref.get("slope"))


def test_the_xlsm_keeps_its_vba_and_buttons(lo, workbooks, tmp_path):
    path = copy(workbooks["xlsm"], tmp_path)
    with zipfile.ZipFile(path) as z:
        vba = z.read("xl/vbaProject.bin")
    cmd_click.click(path, "run", "adam", lo=lo)
    with zipfile.ZipFile(path) as z:
        assert z.read("xl/vbaProject.bin") == vba
        macros = re.findall(r"<x:FmlaMacro>([^<]*)</x:FmlaMacro>",
                            " ".join(z.read(n).decode() for n in z.namelist() if n.endswith(".vml")))
        assert 'name="carry"' in z.read("xl/workbook.xml").decode()
    subs = set(xlsm.subs(xlsm.module_source()))
    bound = [m.split("!")[-1].split(".")[-1] for m in macros if m]
    assert sorted(bound) == sorted(list(subs) * len(sheets.SHEETS))


def test_round_trips_per_epoch_do_not_grow_with_rows(lo, workbooks, tmp_path):
    per_epoch = {}
    for key, rows in (("xlsm", 29), ("rows100", 100)):
        doc = lo.load(workbooks[key])
        try:
            counter = Counting(doc._core)
            doc._core = counter
            book = UnoBook(doc, "adam")
            buttons.reset(book)
            counter.calls = 0
            buttons.run(book, 5)
            per_epoch[rows] = counter.calls / 5
        finally:
            doc._core = counter.inner
            doc.close()
    print("UNO round trips per epoch (adam):", per_epoch)
    assert per_epoch[29] == per_epoch[100] <= 20


class Counting:
    def __init__(self, inner):
        self.inner, self.calls = inner, 0

    def __getattr__(self, name):
        f = getattr(self.inner, name)

        def call(*a):
            self.calls += 1
            return f(*a)
        return call


# --- bad input: one message naming the sheet and cell, and the file untouched ------------------------
def spoil(lo, src, dst, sheet, edits):
    doc = lo.load(src)
    try:
        for ref, value in edits:
            if value is None:
                doc.clear(sheet, ref)
            else:
                doc.write(sheet, ref, value)
        doc.save(dst)
    finally:
        doc.close()
    return dst


@pytest.mark.slow
@pytest.mark.parametrize("sheet, edits, button, message", [
    ("rmsprop", [("B10", "n/a")], "run", r"sheet 'rmsprop',? cell B10 \(data_y\) holds (the )?text"),
    ("adam", [("lr", None)], "run", r"sheet 'adam',? cell D2 \(lr\) is empty"),
    ("momentum", [("J1", "0.9x")], "reset", r"sheet 'momentum',? cell J1 \(mom\) holds (the )?text"),
    ("adam_ann", [("lr", -1.0)], "run", r"sheet 'adam_ann', cell D2 \(lr\) holds -1.0; the learning rate"),
    ("basic", [("lr", 0.01)], "run", r"basic: values stopped being finite at epoch \d+, data row \d+ "
                                     r"\(sheet row \d+\) \(cell [A-N]\d+"),
    ("adam", [("G10", "=1/0")], "run", r"sheet 'adam' shows an error or a non-finite value at cell G10 before Run"),
])
def test_bad_input_names_sheet_and_cell_and_leaves_the_file(lo, workbooks, tmp_path, sheet, edits, button, message):
    path = spoil(lo, workbooks["full"], str(tmp_path / "bad.xlsx"), sheet, edits)
    before = digest(path)
    with pytest.raises((BadInput, Diverged), match=message):
        cmd_click.click(path, button, sheet, lo=lo)
    assert digest(path) == before


def test_a_sheet_without_the_names_is_refused(lo, workbooks, tmp_path):
    path = copy(workbooks["full"], tmp_path)
    before = digest(path)
    with pytest.raises(BadInput, match="sheet 'data' carries none of the lesson's names"):
        cmd_click.click(path, "run", "data", lo=lo)
    with pytest.raises(BadInput, match="has no sheet 'sgd'"):
        cmd_click.click(path, "run", "sgd", lo=lo)
    assert digest(path) == before


@pytest.mark.slow
def test_the_command_line(xlopt_cli, workbooks, tmp_path):
    """`xlopt click` as a user runs it, LibreOffice start included: the latency of one Run."""
    path = copy(workbooks["xlsm"], tmp_path)
    t = time.perf_counter()
    code, out, err = xlopt_cli("click", "run", path, "--sheet", "adam")
    took = time.perf_counter() - t
    print(f"xlopt click run (5 epochs, LibreOffice start included): {took:.2f} s")
    assert code == 0, err
    assert re.match(r"adam: Run x1 \(5 epochs, carry lesson\) -> epoch 5: const ", out)
    before = digest(path)
    code, out, err = xlopt_cli("click", "run", path, "--sheet", "adam", "--times", "0")
    assert code == 2 and "--times must be at least 1" in err and digest(path) == before
    code, out, err = xlopt_cli("click", "run", str(tmp_path / "missing.xlsm"), "--sheet", "adam")
    assert code == 2 and "does not exist" in err
