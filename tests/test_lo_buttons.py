"""The real buttons in LibreOffice Calc: the built .xlsm's Run and Reset form controls, pressed.

One headless soffice on a private profile into which `xlopt install-libreoffice` installed its
script (macro security low there, so the document's macros run as a user who allowed them). Each
test opens a freshly built .xlsm, finds each optimizer sheet's Run and Reset controls on the sheet's
draw page, reads the macro bound to each (its form's script events), and invokes exactly that macro
through the document's script provider, as a click does: the VBA Sub detects LibreOffice and calls
xlopt_lo.py, which presses on the open document. The sheet must land where `xlopt run` does.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest
from lo_fixtures import soffice_missing

from xlopt.cli import install_lo
from xlopt.core import buttons, problems, sheets, state
from xlopt.live.lo import group, process, profiles
from xlopt.live.lo.bridge import uno_in_process
from xlopt.writers import xlsm

pytestmark = pytest.mark.libreoffice
RTOL = 1e-12
RUN_CLICKS = 2
USE_CONFIG = 3  # com.sun.star.document.MacroExecMode.USE_CONFIG: the profile's macro security decides


def _skip_reason():
    return soffice_missing() or (None if uno_in_process() else "this Python cannot import LibreOffice's uno")


class Office:
    """soffice on a profile with xlopt's script installed; documents loaded as a user opens them."""

    def __init__(self, paths=None, macro_security="low", locking=False):
        """locking: LibreOffice's own file locking as on a desktop (lock file, the file held open);
        off, as in xlopt's private profiles."""
        from xlopt.live.lo.bridge import _import_uno
        self.uno = uno = _import_uno()
        self.home = tempfile.mkdtemp(prefix="xlopt-lobuttons-")
        self.profile = os.path.join(self.home, "profile")
        self.messages = os.path.join(self.home, "messages.jsonl")
        os.makedirs(os.path.join(self.profile, "user"))
        with open(install_lo.xcu_path(self.profile), "w", encoding="utf-8") as f:
            xcu = profiles.PROFILE_XCU  # no lock files, recalculate on load
            f.write(xcu.replace("<value>false</value>", "<value>true</value>") if locking else xcu)
        self.notes = install_lo.install(self.profile, paths=paths, macro_security=macro_security)
        pipe = f"xlopt_btn_{uuid.uuid4().hex[:8]}"
        env = dict(os.environ, XLOPT_LO_MESSAGES=self.messages)
        env.pop("PYTHONPATH", None)  # LibreOffice's Python finds xlopt through what the installer wrote
        self.proc = subprocess.Popen(
            [process.find_soffice(), "--headless", "--invisible", "--nologo", "--norestore", "--nodefault",
             "--nolockcheck", "-env:UserInstallation=" + uno.systemPathToFileUrl(self.profile),
             f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, env=env)
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        deadline = time.monotonic() + 60
        while True:
            try:
                ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                break
            except Exception:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.ctx = ctx
        self.desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)

    def _props(self, **kw):
        PropertyValue = self.uno.getClass("com.sun.star.beans.PropertyValue")
        out = []
        for k, v in kw.items():
            p = PropertyValue()
            p.Name, p.Value = k, v
            out.append(p)
        return tuple(out)

    def open(self, path):
        doc = self.desktop.loadComponentFromURL(self.uno.systemPathToFileUrl(path), "_blank", 0,
                                                self._props(Hidden=True, MacroExecutionMode=USE_CONFIG))
        assert doc is not None, path
        return doc

    def read_messages(self):
        if not os.path.exists(self.messages):
            return []
        with open(self.messages, encoding="utf-8") as f:
            out = [json.loads(line)["text"] for line in f]
        os.remove(self.messages)
        return out

    def close(self):
        try:
            self.desktop.terminate()
        except Exception:
            pass
        group.kill_group(self.proc)
        shutil.rmtree(self.home, ignore_errors=True)


@pytest.fixture(scope="module")
def office():
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    o = Office()
    yield o
    o.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from xlopt.writers import workbook
    d = tmp_path_factory.mktemp("lobuttons")
    return {"lesson": workbook.build(str(d / "graddesc.xlsm")),
            "full": workbook.build(str(d / "graddesc_full.xlsm"), carry="full"),
            "function": workbook.build(str(d / "function.xlsm"), problem=problems.FUNCTIONS[0])}


def controls(doc, sheet):
    """{caption: macro URL} of the sheet's form controls, read from its draw page's forms."""
    page = doc.Sheets.getByName(sheet).DrawPage
    shapes = [page.getByIndex(i) for i in range(page.Count)]
    on_page = {s.Control.Label for s in shapes if s.ShapeType == "com.sun.star.drawing.ControlShape"}
    out = {}
    forms = page.Forms
    for fi in range(forms.Count):
        form = forms.getByIndex(fi)
        for ci in range(form.Count):
            events = [e for e in form.getScriptEvents(ci) if e.EventMethod == "actionPerformed"]
            assert len(events) == 1, (sheet, form.getByIndex(ci).Label, events)
            out[form.getByIndex(ci).Label] = events[0].ScriptCode
    assert set(out) == on_page
    return out


def click(doc, sheet, url):
    """What a click on the control does: the sheet is the active one, its bound macro runs."""
    doc.getCurrentController().setActiveSheet(doc.Sheets.getByName(sheet))
    doc.getScriptProvider().getScript(url).invoke((), (), ())


def names(doc, sheet):
    ranges = doc.Sheets.getByName(sheet).NamedRanges
    return {n: ranges.getByName(n).getContent().split(".")[-1] for n in ranges.getElementNames()}


def read(doc, sheet, name):
    cells = doc.Sheets.getByName(sheet).getCellRangeByName(names(doc, sheet)[name])
    flat = [v for row in cells.getDataArray() for v in row]
    return flat[0] if len(flat) == 1 else flat


def close(a, b):
    if isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    return a == b or abs(a - b) <= RTOL * max(abs(a), abs(b))


def test_the_installer_wrote_the_script_and_the_binding(office):
    script = install_lo.script_path(office.profile)
    with open(script, encoding="utf-8") as f:
        text = f.read()
    assert "XLOPT_PATHS = [" in text and "XLOPT_PATHS = []" not in text
    with open(install_lo.xcu_path(office.profile), encoding="utf-8") as f:
        xcu = f.read()
    assert "xlopt_lo.py$on_load" in xcu and "MacroSecurityLevel" in xcu
    assert not any(n.startswith("warning") for n in office.notes), office.notes


@pytest.mark.slow
def test_each_button_is_bound_to_the_sub_that_detects_libreoffice(office, built):
    doc = office.open(built["lesson"])
    try:
        lo_subs = xlsm.libreoffice_buttons(xlsm.module_source())
        for sheet in sheets.SHEETS:
            bound = controls(doc, sheet)
            assert set(bound) == {"Run", "Reset"}
            for caption, sub in xlsm.BUTTONS:
                assert bound[caption] == (f"vnd.sun.star.script:VBAProject.{xlsm.MODULE}.{sub}"
                                          "?language=Basic&location=document")
                assert lo_subs[sub] == caption.lower()
    finally:
        doc.close(True)


@pytest.mark.slow
@pytest.mark.parametrize("carry", buttons.CARRIES)
def test_reset_then_two_runs_land_where_xlopt_run_does(office, built, carry):
    doc = office.open(built[carry])
    try:
        for sheet in sheets.SHEETS:
            bound = controls(doc, sheet)
            click(doc, sheet, bound["Reset"])
            for _ in range(RUN_CLICKS):
                click(doc, sheet, bound["Run"])
            assert office.read_messages() == []
            ref = state.fresh(sheet)
            buttons.run(ref, buttons.EPOCHS_PER_CLICK * RUN_CLICKS, carry)  # what `xlopt run` does
            doc.calculateAll()
            for name in ("const", "slope", "lr", "rmse", "momtarget", "gradtarget", "prev_grad2"):
                if ref.has(name) and name in names(doc, sheet):
                    assert close(read(doc, sheet, name), ref.get(name)), (sheet, carry, name)
    finally:
        doc.close(True)


@pytest.mark.slow
def test_the_buttons_of_a_function_problems_workbook(office, built):
    """`xlopt build --problem P`: every sheet's real Reset and Run land where `xlopt run --problem P` does."""
    problem = problems.FUNCTIONS[0]
    doc = office.open(built["function"])
    try:
        for sheet in sheets.SHEETS:
            bound = controls(doc, sheet)
            click(doc, sheet, bound["Reset"])
            for _ in range(RUN_CLICKS):
                click(doc, sheet, bound["Run"])
            assert office.read_messages() == []
            ref = state.fresh(sheet, problem=problem)
            buttons.run(ref, buttons.EPOCHS_PER_CLICK * RUN_CLICKS, "lesson")
            doc.calculateAll()
            for name in ("const", "slope", "lr", "loss"):
                assert close(read(doc, sheet, name), ref.get(name)), (sheet, name)
    finally:
        doc.close(True)


def snapshot(doc, sheet):
    """Every cell value of the sheet's used area (what 'nothing written' compares)."""
    sh = doc.Sheets.getByName(sheet)
    cursor = sh.createCursor()
    cursor.gotoEndOfUsedArea(False)
    end = cursor.getRangeAddress()
    return sh.getCellRangeByPosition(0, 0, end.EndColumn, end.EndRow).getDataArray()


@pytest.mark.slow
@pytest.mark.parametrize("sheet, cell, value, button, words", [
    ("adam", "D2", "oops", "Run", ["'adam'", "D2", "lr"]),
    ("momentum", "C1", "", "Run", ["'momentum'", "C1", "const", "press Reset"]),  # Reset restores const
    ("rmsprop", "J1", "0.9x", "Reset", ["'rmsprop'", "J1", "mom", "0.9x"]),  # ... but not a β
    ("basic", "F1", 5.0, "Run", ["basic", "finite", "cell F"]),
])
def test_a_bad_cell_or_a_diverging_lr_shows_one_message_and_writes_nothing(office, built, sheet, cell, value,
                                                                           button, words):
    doc = office.open(built["lesson"])
    try:
        target = doc.Sheets.getByName(sheet).getCellRangeByName(cell)
        if isinstance(value, str):
            target.setString(value)
        else:
            target.setValue(value)
        doc.calculateAll()
        before = snapshot(doc, sheet)
        click(doc, sheet, controls(doc, sheet)[button])
        messages = office.read_messages()
        assert len(messages) == 1, messages
        assert all(w.lower() in messages[0].lower() for w in words), messages[0]
        doc.calculateAll()
        assert snapshot(doc, sheet) == before
    finally:
        doc.close(True)


def test_saving_in_libreoffice_keeps_the_excel_modules(office, built, tmp_path):
    from pyopenvba import ExcelFile
    doc = office.open(built["lesson"])
    try:
        lib = doc.BasicLibraries.getByName("VBAProject")
        assert not lib.hasByName("xlwings") and lib.hasByName(xlsm.MODULE)  # taken out while open
        click(doc, "adam", controls(doc, "adam")["Reset"])
        saved = str(tmp_path / "saved.xlsm")
        doc.storeToURL(office.uno.systemPathToFileUrl(saved),
                       office._props(FilterName="Calc MS Excel 2007 VBA XML", Overwrite=True))
        assert not lib.hasByName("xlwings")  # out again after the save
    finally:
        doc.close(True)
    with ExcelFile(saved) as wb:
        assert {"xlwings", "Dictionary", xlsm.MODULE} <= set(wb.module_names())


def test_without_xlopt_in_libreoffices_python_the_button_says_so(built):
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    o = Office(paths=[os.path.join(tempfile.gettempdir(), "no-xlopt-here")])
    try:
        assert any(n.startswith("warning") for n in o.notes), o.notes
        doc = o.open(built["lesson"])
        try:
            before = snapshot(doc, "rmsprop")
            click(doc, "rmsprop", controls(doc, "rmsprop")["Run"])
            messages = o.read_messages()
            assert len(messages) == 1 and "cannot import xlopt" in messages[0], messages
            assert snapshot(doc, "rmsprop") == before
        finally:
            doc.close(True)
    finally:
        o.close()


# What LibreOffice 7.4 cannot do, recorded on a minimal document: one module of a VBA library that
# Basic cannot compile stops every Sub of the library, silently (a click on a button does nothing).
# xlwings' VBA project holds two such modules; the installed hook takes them out (see xlopt_lo.py).
UNCOMPILABLE = {
    "Dictionary": "Public Enum CompareMethod\n    BinaryCompare = VBA.vbBinaryCompare\nEnd Enum\n",
    "xlwings": ('#If App = "Microsoft Excel" Then\nFunction GetUdfModules(Optional wb As Workbook) As String\n'
                "#Else\nFunction GetUdfModules(Optional wb As Variant) As String\n#End If\n"
                "    GetUdfModules = \"\"\nEnd Function\n"),
}
PROBE = 'Sub probe()\n    ThisComponent.Sheets.getByIndex(0).getCellRangeByName("A1").setString("ran")\nEnd Sub\n'
VBA_HEAD = "Rem Attribute VBA_ModuleType=VBAModule\nOption VBASupport 1\n"


@pytest.mark.parametrize("blocker", [None, *UNCOMPILABLE])
def test_libreoffice_74_runs_no_sub_of_a_vba_library_with_one_module_it_cannot_compile(office, blocker):
    doc = office.desktop.loadComponentFromURL("private:factory/scalc", "_blank", 0, office._props(Hidden=True))
    try:
        libs = doc.BasicLibraries
        libs.VBACompatibilityMode = True
        lib = libs.createLibrary("VBAProject")
        if blocker:
            lib.insertByName(blocker, VBA_HEAD + UNCOMPILABLE[blocker])
        lib.insertByName("buttons", VBA_HEAD + PROBE)
        doc.getScriptProvider().getScript(
            "vnd.sun.star.script:VBAProject.buttons.probe?language=Basic&location=document").invoke((), (), ())
        ran = doc.Sheets.getByIndex(0).getCellRangeByName("A1").String == "ran"
        assert ran == (blocker is None)
        if blocker:  # the hook's remedy: without the module, the same Sub runs
            lib.removeByName(blocker)
            doc.getScriptProvider().getScript(
                "vnd.sun.star.script:VBAProject.buttons.probe?language=Basic&location=document").invoke((), (), ())
            assert doc.Sheets.getByIndex(0).getCellRangeByName("A1").String == "ran"
    finally:
        doc.close(True)


@pytest.mark.slow
@pytest.mark.parametrize("sheet, text", [("adam", "0.1x"), ("rmsprop", "0.1x"), ("basic", "")])
def test_reset_restores_an_lr_cell_that_holds_no_number(office, built, sheet, text):
    """Run refuses text in lr and says "type a number there (or press Reset)"; Reset then puts the
    sheet's lr back: the one its Reset types, or (a sheet whose Reset leaves lr alone) its default."""
    doc = office.open(built["lesson"])
    try:
        cell = doc.Sheets.getByName(sheet).getCellRangeByName(names(doc, sheet)["lr"])
        cell.setString(text)
        bound = controls(doc, sheet)
        click(doc, sheet, bound["Run"])
        messages = office.read_messages()
        assert len(messages) == 1 and "(or press Reset)" in messages[0], messages
        click(doc, sheet, bound["Reset"])
        assert office.read_messages() == []
        layout = sheets.get(sheet)
        ref = state.fresh(sheet)  # what Reset leaves
        assert read(doc, sheet, "lr") == (layout.reset.lr if layout.reset.lr is not None else layout.lr_default)
        doc.calculateAll()
        assert close(read(doc, sheet, "rmse"), ref.get("rmse")) if ref.has("rmse") else True
    finally:
        doc.close(True)


def test_a_beta_that_holds_text_is_not_sent_to_reset(office, built):
    doc = office.open(built["lesson"])
    try:
        doc.Sheets.getByName("momentum").getCellRangeByName(names(doc, "momentum")["mom"]).setString("0.9x")
        click(doc, "momentum", controls(doc, "momentum")["Reset"])
        messages = office.read_messages()
        assert len(messages) == 1 and "0.9x" in messages[0] and "press Reset" not in messages[0], messages
    finally:
        doc.close(True)
