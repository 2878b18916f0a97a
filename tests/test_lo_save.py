"""LibreOffice's own save keeps what the workbook had: both buttons on every sheet, Excel's VBA project.

Calc's File > Save writes the form buttons in a form Calc cannot read back (reopened, no sheet shows
Run or Reset) and rebuilds the VBA project without the class attributes of xlwings' Dictionary
(`Option ClassModule` instead of VB_PredeclaredId & co., no default member), which Excel's RunPython
needs. The installed script (xlopt_lo.py's on_load) keeps the file's bytes as it opened and, after each
save to .xlsm, puts the VBA project, the buttons, drawings, charts and names back into the saved file
(xlopt.live.keep_parts). Here a real LibreOffice (headless, the profile `xlopt install-libreoffice`
set up) opens a built .xlsm as a user does, presses its buttons, saves it with the document's own
`store()` (what Ctrl+S does) and reopens it. Excel cannot run here: the VBA project is checked
from the file (byte for byte against the built one, and each module's source read by pyOpenVBA).
"""
import os
import re
import shutil
import zipfile

import pytest
from test_keep_parts import assert_keeps, vba_source
from test_lo_buttons import Office, _skip_reason, click, controls, read

from xlopt.core import sheets
from xlopt.writers import xlsm

pytestmark = pytest.mark.libreoffice
pytest.importorskip("pyopenvba")
XLSM = "Calc MS Excel 2007 VBA XML"


@pytest.fixture(scope="module")
def office():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    o = Office(locking=True)  # as on a desktop: Calc holds the open file and its lock file
    yield o
    o.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from xlopt.writers import workbook
    return workbook.build(str(tmp_path_factory.mktemp("losave") / "graddesc.xlsm"))


def bound_subs():
    """{caption: the macro URL Calc binds each button to} from the definitions (xlsm.BUTTONS)."""
    return {caption: f"vnd.sun.star.script:VBAProject.{xlsm.MODULE}.{sub}?language=Basic&location=document"
            for caption, sub in xlsm.BUTTONS}


def assert_buttons_everywhere(doc):
    for sheet in sheets.SHEETS:
        assert controls(doc, sheet) == bound_subs(), sheet


def assert_excel_gets_its_vba(path, ref):
    """What Excel needs, checked from the file: the built VBA project byte for byte, every module's
    source (xlwings, the Dictionary class with its attributes and default member, xlopt_buttons)."""
    with zipfile.ZipFile(path) as got, zipfile.ZipFile(ref) as want:
        assert got.read("xl/vbaProject.bin") == want.read("xl/vbaProject.bin")
    modules = vba_source(path)
    assert modules == vba_source(ref)
    assert {"xlwings", "Dictionary", xlsm.MODULE} <= set(modules)
    assert "Attribute VB_PredeclaredId" in modules["Dictionary"]
    assert "Attribute Item.VB_UserMemId = 0" in modules["Dictionary"]
    assert "Option ClassModule" not in modules["Dictionary"]


def props(office, **kw):
    return office._props(**kw)


@pytest.mark.slow
def test_calc_save_twice_then_reopen_shows_both_buttons_on_every_sheet(office, built, tmp_path):
    path = str(tmp_path / "graddesc.xlsm")
    shutil.copyfile(built, path)
    doc = office.open(path)
    try:
        assert_buttons_everywhere(doc)
        bound = controls(doc, "adam")
        click(doc, "adam", bound["Reset"])
        click(doc, "adam", bound["Run"])
        const = read(doc, "adam", "const")
        doc.store()  # File > Save, Keep current format
        doc.Sheets.getByName("data").getCellRangeByName("Z1").setValue(42.0)  # a later edit, saved again
        doc.store()
        assert office.read_messages() == []
    finally:
        doc.close(True)
    assert_keeps(path, built)  # VBA, VML buttons, drawings, charts, names: the built file's, byte for byte
    assert_excel_gets_its_vba(path, built)
    doc = office.open(path)
    try:
        assert_buttons_everywhere(doc)
        assert read(doc, "adam", "const") == pytest.approx(const, rel=1e-14)  # Calc writes 15 digits
        assert doc.Sheets.getByName("data").getCellRangeByName("Z1").Value == 42.0  # the second save landed
        click(doc, "adam", controls(doc, "adam")["Run"])  # and the reopened buttons still run
        assert office.read_messages() == [] and read(doc, "adam", "const") != pytest.approx(const)
        doc.store()  # a file Calc saved before saves again as well
    finally:
        doc.close(True)
    assert_keeps(path, built)
    doc = office.open(path)
    try:
        assert_buttons_everywhere(doc)
    finally:
        doc.close(True)


@pytest.mark.slow
def test_save_as_xlsm_keeps_them_too(office, built, tmp_path):
    doc = office.open(built)
    target = str(tmp_path / "renamed.xlsm")
    try:
        doc.storeAsURL(office.uno.systemPathToFileUrl(target), props(office, FilterName=XLSM))  # Save As
    finally:
        doc.close(True)
    assert_keeps(target, built)
    assert_excel_gets_its_vba(target, built)
    doc = office.open(target)
    try:
        assert_buttons_everywhere(doc)
    finally:
        doc.close(True)


def test_without_the_hook_calcs_own_save_loses_every_button(office, built, tmp_path):
    """The failure the hook repairs, recorded: "Save a Copy" (storeToURL) is not seen by the hook
    (its event names no file), so its copy is LibreOffice's export as it is. What goes wrong there
    (found by patching that export part by part): every VML button shape gets the same id
    `shape_0`, so Calc drops them on load; with the ids made unique they come back, but with no
    caption and no macro bound (its VML text is a bare <div>, its macro `xlopt_buttons.xlopt_run`),
    so no repair of its VML short of the original parts would do. Its VBA project turns xlwings'
    Dictionary class into `Option ClassModule` without the class attributes, and the workbook and
    its sheets lose their code names."""
    copy = str(tmp_path / "copy.xlsm")
    doc = office.open(built)
    try:
        doc.storeToURL(office.uno.systemPathToFileUrl(copy), props(office, FilterName=XLSM, Overwrite=True))
    finally:
        doc.close(True)
    modules = vba_source(copy)
    assert "Option ClassModule" in modules["Dictionary"] and "VB_UserMemId" not in modules["Dictionary"]
    with zipfile.ZipFile(copy) as z:
        vml = [z.read(n).decode() for n in z.namelist() if n.endswith(".vml")]
    assert vml and all(re.findall(r'<v:shape id="([^"]*)"', v) == ["shape_0", "shape_0"] for v in vml)
    doc = office.open(copy)
    try:
        assert all(controls(doc, sheet) == {} for sheet in sheets.SHEETS)
    finally:
        doc.close(True)


def test_macro_security_high_says_why_the_buttons_do_nothing(built, tmp_path):
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    o = Office(macro_security="high")
    try:
        assert any(n.startswith("warning") and "High" in n for n in o.notes), o.notes
        path = str(tmp_path / "untrusted.xlsm")
        shutil.copyfile(built, path)
        doc = o.open(path)
        try:
            assert not doc.AllowMacroExecution
            messages = o.read_messages()
            assert len(messages) == 1 and "macro security" in messages[0] and "Medium" in messages[0], messages
        finally:
            doc.close(True)
    finally:
        o.close()
    assert not os.path.exists(o.home)
