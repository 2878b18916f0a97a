"""The macro-enabled workbook: VBA project, buttons, xlwings.conf, repeatable bytes.

Checked from the file itself (zip parts, pyOpenVBA reading the VBA project). Nothing here can run
Excel, so nothing here clicks a button in Excel: the macros' behaviour is checked through LibreOffice
in test_click_*.py and on a stand-in for Excel in test_buttons_xlwings.py.
"""
import importlib
import os
import re
import sys
import zipfile

import pytest

from xlopt.core import sheets
from xlopt.writers import xlsm
from xlopt.core.errors import BadInput

xlsxwriter = pytest.importorskip("xlsxwriter")
xlwings = pytest.importorskip("xlwings")
pyopenvba = pytest.importorskip("pyopenvba")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMITTED = os.path.join(ROOT, "workbooks", "graddesc.xlsm")
MACRO_ENABLED = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from xlopt.writers import workbook
    path = str(tmp_path_factory.mktemp("xlsm") / "graddesc.xlsm")
    workbook.build(path)
    return path


def vba_modules(path):
    with pyopenvba.ExcelFile(path) as wb:
        return {m: wb.get_module(m) for m in wb.module_names()}


def buttons_of(path):
    """{sheet name: [(caption, macro)]} from the form buttons' VML drawings."""
    z = zipfile.ZipFile(path)
    wbxml = z.read("xl/workbook.xml").decode()
    rels = z.read("xl/_rels/workbook.xml.rels").decode()
    target = dict(re.findall(r'Id="(rId\d+)"[^>]*Target="([^"]+)"', rels)
                  + [(i, t) for t, i in re.findall(r'Target="([^"]+)"[^>]*Id="(rId\d+)"', rels)])
    out = {}
    for name, rid in re.findall(r'<sheet name="([^"]+)" sheetId="\d+" r:id="(rId\d+)"', wbxml):
        sheet_part = "xl/" + target[rid].lstrip("/").removeprefix("xl/")
        rel_part = sheet_part.replace("worksheets/", "worksheets/_rels/") + ".rels"
        if rel_part not in z.namelist():
            continue
        for vml in re.findall(r'Target="\.\./drawings/(vmlDrawing\d+\.vml)"', z.read(rel_part).decode()):
            text = z.read("xl/drawings/" + vml).decode()
            for shape in re.findall(r"<v:shape .*?</v:shape>", text, re.S):
                if 'ObjectType="Button"' in shape:
                    caption = re.search(r"<font[^>]*>([^<]*)</font>", shape).group(1)
                    macro = re.search(r"<x:FmlaMacro>(?:\[0\]!)?([^<]*)</x:FmlaMacro>", shape).group(1)
                    out.setdefault(name, []).append((caption, macro))
    return out


def conf_sheet(path):
    import openpyxl
    ws = openpyxl.load_workbook(path)[xlsm.CONF_SHEET]
    rows = []
    for r in ws.iter_rows(min_row=1, max_col=2, values_only=True):
        if r[0] is None:
            break
        rows.append(r)
    return rows


def test_the_workbook_is_macro_enabled(built):
    z = zipfile.ZipFile(built)
    assert MACRO_ENABLED in z.read("[Content_Types].xml").decode()
    assert "xl/vbaProject.bin" in z.namelist()
    assert z.read("xl/vbaProject.bin") == xlsm.vba_project()
    assert 'codeName="ThisWorkbook"' in z.read("xl/workbook.xml").decode()


def test_every_button_calls_a_sub_of_the_project(built):
    modules = vba_modules(built)
    assert "Module1" not in modules and {"xlwings", "Dictionary", xlsm.MODULE} <= set(modules)
    subs = xlsm.subs(modules[xlsm.MODULE])
    assert set(subs) == {"xlopt_run", "xlopt_reset"}
    found = buttons_of(built)
    assert set(found) == set(sheets.SHEETS)
    for sheet in sheets.SHEETS:
        assert found[sheet] == [("Run", "xlopt_run"), ("Reset", "xlopt_reset")]
    for _, macro in [b for bs in found.values() for b in bs]:
        assert macro in subs


def test_every_runpython_string_imports_a_real_function(built):
    subs = xlsm.subs(vba_modules(built)[xlsm.MODULE])
    assert subs
    for sub, command in subs.items():
        module, function = xlsm.runpython_target(command)
        fn = getattr(importlib.import_module(module), function)
        assert callable(fn), (sub, command)
    assert subs == xlsm.subs(xlsm.module_source())
    with pytest.raises(BadInput):
        xlsm.runpython_target("import os; os.system('x')")


def test_the_embedded_xlwings_is_the_installed_one(built):
    source = vba_modules(built)["xlwings"]
    version = re.search(r'XLWINGS_VERSION As String = "([^"]+)"', source).group(1)
    assert version == xlwings.__version__
    assert f"xlwings64-{version}.dll" in source
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        pins = re.findall(r'"xlwings==([^"]+)"', f.read())
    assert pins == [xlwings.__version__], "pyproject must pin xlwings exactly, to the installed version"


def test_the_conf_sheet(built):
    rows = conf_sheet(built)
    keys = [k for k, _ in rows]
    assert keys[-1] == "ADD_WORKBOOK_TO_PYTHONPATH"
    if sys.platform.startswith("win"):
        assert rows[0] == ("Interpreter_Win", sys.executable)
    elif sys.platform == "darwin":
        assert rows[0] == ("Interpreter_Mac", sys.executable)
    else:  # a Linux path under Interpreter_Win/Mac would only break RunPython on the user's machine
        assert not any(k.startswith("Interpreter") for k in keys)


@pytest.mark.parametrize("platform, key", [("win32", "Interpreter_Win"), ("darwin", "Interpreter_Mac"),
                                           ("linux", None)])
def test_add_macros_on_a_small_workbook(tmp_path, platform, key):
    path = str(tmp_path / "small.xlsm")
    wb = xlsxwriter.Workbook(path)
    worksheets = {name: wb.add_worksheet(name) for name in sheets.SHEETS}
    xlsm.add_macros(wb, worksheets, interpreter=sys.executable, platform=platform, pythonpath=ROOT)
    wb.close()
    rows = dict(conf_sheet(path))
    if key:
        assert rows[key] == sys.executable and rows["PYTHONPATH"] == ROOT
    else:
        assert "PYTHONPATH" not in rows and len(rows) == 1
    assert set(buttons_of(path)) == set(sheets.SHEETS)


def test_add_macros_refuses_what_cannot_hold_them(tmp_path):
    wb = xlsxwriter.Workbook(str(tmp_path / "plain.xlsx"))
    with pytest.raises(BadInput, match=r"\.xlsm"):
        xlsm.add_macros(wb, {})
    wb.close()
    wb = xlsxwriter.Workbook(str(tmp_path / "few.xlsm"))
    with pytest.raises(BadInput, match="no worksheet for momentum"):
        xlsm.add_macros(wb, {"basic": wb.add_worksheet("basic")})
    wb.close()


def test_the_vba_project_is_made_the_same_every_time():
    assert xlsm.make_vba_project() == xlsm.vba_project()
    with open(xlsm.CACHE_KEY, encoding="ascii") as f:
        assert f.read().strip() == xlsm.cache_key()


def test_the_committed_workbook_is_a_rebuild(built):
    if not os.path.exists(COMMITTED):
        pytest.skip("workbooks/graddesc.xlsm is not built in this checkout")
    if sys.platform.startswith("win") or sys.platform == "darwin":
        pytest.skip("built on Linux; a Windows or macOS build writes its own interpreter into xlwings.conf")
    with open(COMMITTED, "rb") as a, open(built, "rb") as b:
        assert a.read() == b.read(), "rebuild it: xlopt build -o workbooks/graddesc.xlsm --force"


def test_a_conda_build_on_windows_names_the_environment():
    """xlwings activates Conda Env only when Interpreter_Win is not a path, so conda replaces it."""
    rows = dict(xlsm.conf_rows("C:\\envs\\xlopt\\python.exe", "win32", "", ("C:\\miniconda3", "xlopt")))
    assert rows == {"Conda Path": "C:\\miniconda3", "Conda Env": "xlopt", "ADD_WORKBOOK_TO_PYTHONPATH": True}
    rows = dict(xlsm.conf_rows("/opt/conda/envs/xlopt/bin/python", "darwin", "", ("/opt/conda", "xlopt")))
    assert rows["Interpreter_Mac"] == "/opt/conda/envs/xlopt/bin/python" and "Conda Env" not in rows
