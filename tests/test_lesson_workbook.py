"""The buttons on the lesson's own graddesc.xlsm, through LibreOffice (`xlopt click`).

The file is the replica tests/lesson_replica.py writes from the spec's description: addresses in the
formulas, K1 = 1−J1, broken names, no error columns, values left mid-training. Each sheet must be
recognised by its layout and, after Reset and two Runs, land where `xlopt run` does (rtol 1e-12 — the
recalculation is LibreOffice's own), in both carries; the file keeps its VBA project byte for byte.
"""
import re

import lesson_replica
import openpyxl
import pytest
from lo_fixtures import lo  # noqa: F401  (the session's LibreOffice)

from xlopt.cli import click
from xlopt.core import buttons, sheets, state
from xlopt.core.errors import BadInput
from xlopt.live.lo import UnoBook

pytestmark = pytest.mark.libreoffice
RTOL = 1e-12


@pytest.fixture(scope="module")
def replica(tmp_path_factory):
    d = tmp_path_factory.mktemp("lesson")
    return {s: lesson_replica.write(str(d / f"graddesc.{s}")) for s in ("xlsx", "xlsm")}


def close(a, b):
    return abs(a - b) <= RTOL * max(abs(a), abs(b))


def test_the_replica_is_the_lessons_layout(replica):
    wb = openpyxl.load_workbook(replica["xlsx"])
    assert wb.sheetnames == ["Sheet1", "data", *sheets.LESSON_SHEETS]
    ws = wb["rmsprop"]
    assert ws["H4"].value == "=C4-F4*$D$2/SQRT(J3)" and ws["K1"].value == "=1-J1"
    assert ws["L4"].value is None and "lr" not in ws.defined_names  # no error column, lr unnamed
    assert wb["momentum"].defined_names["ms_last"].attr_text == "#REF!"
    assert wb["adam_ann"]["N34"].value == "=avg_grad2/prev_grad2"
    assert not any(sheets.KIND_NAME in wb[s].defined_names for s in sheets.LESSON_SHEETS)


def test_each_sheet_is_recognised_by_its_layout(lo, replica):
    doc = lo.load(replica["xlsx"])
    try:
        for name in sheets.LESSON_SHEETS:
            book = UnoBook(doc, name)
            assert book.sheet.name == name  # momentum's broken ms_last/gradtarget do not make it rmsprop
            first, last = sheets.get(name).lesson.columns
            assert book.columns[0] == "A" and book.columns[-1] == last
    finally:
        doc.close()


@pytest.mark.slow
@pytest.mark.parametrize("carry", buttons.CARRIES)
@pytest.mark.parametrize("name", sheets.LESSON_SHEETS)
def test_reset_then_runs_land_where_xlopt_run_does(lo, replica, tmp_path, name, carry):
    path = str(tmp_path / "graddesc.xlsm")
    with open(replica["xlsm"], "rb") as f, open(path, "wb") as g:
        g.write(f.read())
    click.click(path, "reset", name, lo=lo)
    r = click.click(path, "run", name, times=2, carry=carry, lo=lo)
    ref = state.fresh(name)
    buttons.run(ref, 10, carry)
    for k in ("const", "slope", "lr"):
        assert close(r["top"][k], ref.get(k)), (name, carry, k, r["top"][k], ref.get(k))
    assert [e["epoch"] for e in r["log"]] == list(range(1, 11))
    saved, built = lesson_replica.buttons_of(path), lesson_replica.buttons_of(replica["xlsm"])
    assert saved["vba"] == built["vba"]  # the VBA project byte for byte
    assert saved["vml"] == built["vml"] and saved["ctrl"] == built["ctrl"]  # both buttons, both Subs
    assert saved["ctrlprops"] == built["ctrlprops"] and len(saved["ctrlprops"]) == 10


@pytest.mark.slow
def test_the_error_check_reads_the_columns_the_sheet_has(lo, replica, tmp_path):
    """adam in the lesson's file has columns A–M: a #DIV/0! in M10 is refused before Run, naming the
    first cell in reading order that shows it (I10 = D10-K10*$D$2/SQRT(M10)); the same error in N10,
    a column the sheet does not have, is none of the buttons' business."""
    for cell, refused in (("M10", True), ("N10", False)):
        path = str(tmp_path / f"g{cell}.xlsx")
        with open(replica["xlsx"], "rb") as f, open(path, "wb") as g:
            g.write(f.read())
        click.click(path, "reset", "adam", lo=lo)
        doc = lo.load(path)
        try:
            doc.write("adam", cell, "=1/0")
            doc.save(path)
        finally:
            doc.close()
        before = open(path, "rb").read()
        if refused:
            with pytest.raises(BadInput, match=r"sheet 'adam' shows an error or a non-finite value at cell I10 "
                                               "before Run"):
                click.click(path, "run", "adam", lo=lo)
            assert open(path, "rb").read() == before
        else:
            assert click.click(path, "run", "adam", lo=lo)["log"][-1]["epoch"] == 5


def test_the_basic_log_is_the_lessons_rmses(lo, replica, tmp_path):
    path = str(tmp_path / "g.xlsx")
    with open(replica["xlsx"], "rb") as f, open(path, "wb") as g:
        g.write(f.read())
    click.click(path, "reset", "basic", lo=lo)
    click.click(path, "run", "basic", lo=lo)
    ref = state.fresh("basic")
    buttons.run(ref, 5)
    ws = openpyxl.load_workbook(path, data_only=True)["basic"]
    rmses = [ws[f"C{r}"].value for r in range(38, 46)]
    assert all(close(a, b["rmse"]) for a, b in zip(rmses[:5], ref.read_log()[1:]))
    assert rmses[5:] == [None, None, None]  # the earlier clicks' log was cleared by Reset
    assert re.match(r"Paste error here", openpyxl.load_workbook(path)["basic"]["C36"].value)
