"""Every save keeps what the workbook had: VBA project, buttons (VML + ctrlProps + macros), charts, names.

LibreOffice rewrites the buttons on a save and drops them all on the next one; `xlopt click` puts the
original parts back (`xlopt.live.keep_parts`). Here one workbook is clicked ten times (both buttons,
several sheets) and compared part by part with the freshly built file.
"""
import re
import shutil
import zipfile

import pytest
from lo_fixtures import lo  # noqa: F401  (the session's LibreOffice)

from xlopt.cli import click as cmd_click
from xlopt.core import sheets
from xlopt.live import keep_parts
from xlopt.writers import xlsm

pytestmark = pytest.mark.libreoffice
pyopenvba = pytest.importorskip("pyopenvba")

CLICKS = [("reset", "adam"), ("run", "adam"), ("run", "momentum"), ("reset", "basic"), ("run", "basic"),
          ("run", "adam_ann"), ("run", "adam_ann"), ("reset", "rmsprop"), ("run", "rmsprop"), ("run", "adam")]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    from xlopt.writers import workbook
    return workbook.build(str(tmp_path_factory.mktemp("keep") / "graddesc.xlsm"))


def parts(path):
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def sheet_targets(files):
    """{sheet: sorted (rel type, target) of its drawing, VML and ctrlProp relationships}."""
    out = {}
    for name, part in keep_parts._sheet_parts(files).items():
        rels = files.get(keep_parts._rels_path(part), b"").decode()
        ids = {}
        for r in keep_parts._REL.findall(rels):
            if keep_parts._attr(r, "Type") in keep_parts.SHEET_REL_TYPES:
                ids[keep_parts._attr(r, "Id")] = (keep_parts._attr(r, "Type").rsplit("/", 1)[1], keep_parts._attr(r, "Target"))
        xml = files[part].decode()
        used = re.findall(r'\br:id="([^"]*)"', "".join(m.group(0) for m in keep_parts._DRAWING.finditer(xml))
                          + "".join(m.group(0) for m in keep_parts._CONTROLS.finditer(xml)))
        assert set(used) == set(ids), (name, used, ids)  # every element resolves, every rel is used
        out[name] = sorted(ids.values())
    return out


def macros(files):
    """Sorted macro bindings: the VML shapes' FmlaMacro and the <controlPr macro=...> of every sheet."""
    vml = re.findall(r"<x:FmlaMacro>([^<]*)</x:FmlaMacro>",
                     " ".join(d.decode() for n, d in files.items() if n.endswith(".vml")))
    ctrl = re.findall(r'<controlPr\b[^>]*\bmacro="([^"]*)"',
                      " ".join(d.decode() for n, d in files.items() if n.startswith("xl/worksheets/sheet")))
    return sorted(vml), sorted(ctrl)


def defined_names(files):
    wb = files["xl/workbook.xml"].decode()
    return sorted((re.search(r'name="([^"]*)"', a).group(1), re.search(r'localSheetId="(\d+)"', a) and
                   re.search(r'localSheetId="(\d+)"', a).group(1), v)
                  for a, v in re.findall(r"<definedName ([^>]*)>([^<]*)</definedName>", wb))


def code_names(files):
    """The code names that tie the VBA project's document modules to the workbook and its sheets."""
    def code(xml, tag):
        m = re.search(rf"<{tag}\b[^>]*>", xml)
        return m and keep_parts._attr(m.group(0), "codeName")
    sheets_ = {name: code(files[part].decode(), "sheetPr") for name, part in keep_parts._sheet_parts(files).items()}
    return code(files["xl/workbook.xml"].decode(), "workbookPr"), sheets_


def vba_source(path):
    with pyopenvba.ExcelFile(path) as wb:
        return {m: wb.get_module(m) for m in wb.module_names()}


def kept(files):
    return {n: d for n, d in files.items() if n.startswith(keep_parts.KEPT_DIRS) or n == keep_parts.VBA_PART}


def assert_keeps(path, ref):
    got, want = parts(path), parts(ref)
    assert kept(got) == kept(want)  # VBA binary, drawings, VML buttons, ctrlProps, charts: byte for byte
    assert sheet_targets(got) == sheet_targets(want)
    assert macros(got) == macros(want)
    assert defined_names(got) == defined_names(want)
    assert code_names(got) == code_names(want)  # LibreOffice drops them; Excel ties ThisWorkbook, Sheet1... by them
    assert vba_source(path) == vba_source(ref)


@pytest.mark.slow
def test_ten_clicks_keep_the_built_workbook(lo, fresh, tmp_path):
    path = str(tmp_path / "clicked.xlsm")
    shutil.copyfile(fresh, path)
    for button, sheet in CLICKS:
        cmd_click.click(path, button, sheet, lo=lo)
    assert_keeps(path, fresh)
    vml, _ = macros(parts(path))
    subs = set(xlsm.subs(xlsm.module_source()))
    assert sorted(m.split("!")[-1] for m in vml) == sorted(list(subs) * len(sheets.SHEETS))
    # and LibreOffice itself still sees both buttons on every sheet, bound to the Subs
    doc = lo.load(path)
    try:
        doc.save(str(tmp_path / "lo.xlsm"))
    finally:
        doc.close()
    _, ctrl = macros(parts(str(tmp_path / "lo.xlsm")))
    assert sorted(m.split(".")[-1] for m in ctrl) == sorted(list(subs) * len(sheets.SHEETS))


@pytest.mark.slow
def test_ten_clicks_keep_ctrlprops_buttons(lo, fresh, tmp_path):
    """A file whose buttons are VML shapes and xl/ctrlProps parts with <controls> in the sheet XML
    (the lesson's own layout; LibreOffice's first save writes that too)."""
    ref = str(tmp_path / "ctrlprops.xlsm")
    doc = lo.load(fresh)
    try:
        doc.save(ref)
    finally:
        doc.close()
    got = parts(ref)
    assert any(n.startswith("xl/ctrlProps/") for n in got) and macros(got)[1]
    path = str(tmp_path / "clicked.xlsm")
    shutil.copyfile(ref, path)
    for button, sheet in CLICKS:
        cmd_click.click(path, button, sheet, lo=lo)
    assert_keeps(path, ref)


def test_an_xlsx_keeps_its_charts(lo, tmp_path):
    from xlopt.writers import workbook
    ref = workbook.build(str(tmp_path / "fresh.xlsx"))
    path = str(tmp_path / "clicked.xlsx")
    shutil.copyfile(ref, path)
    for button, sheet in CLICKS[:4]:
        cmd_click.click(path, button, sheet, lo=lo)
    got, want = parts(path), parts(ref)
    assert kept(got) == kept(want) and any(n.startswith("xl/charts/") for n in got)
    assert sheet_targets(got) == sheet_targets(want)
    assert defined_names(got) == defined_names(want)
