"""The macro-enabled workbook: xlwings' VBA project, one module of one-line Subs, Run/Reset buttons.

The builder calls `add_macros(workbook, worksheets)` after writing the sheets. It embeds the VBA
project of xlwings' standalone quickstart (the whole xlwings module, so no add-in is needed) with
Module1 replaced by `vba/xlopt_buttons.bas`, whose Subs call `RunPython` into `xlopt.macros`; puts a
Run and a Reset form button on each optimizer sheet; and adds the `xlwings.conf` sheet that tells
RunPython which Python to start.

The modified vbaProject.bin is cached in `vba/` next to the key it was made from (the template's
bytes, the module's text, pyOpenVBA's version): the same inputs give the same bytes, so a rebuild can
be compared with the committed workbook.
"""
import hashlib
import io
import os
import re
import shutil
import sys
import tempfile
import zipfile

from xlopt.core import sheets
from xlopt.core.errors import BadInput, MissingTool
from xlopt.writers import panel

VBA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vba")
MODULE = "xlopt_buttons"
MODULE_FILE = os.path.join(VBA_DIR, MODULE + ".bas")
CACHE_BIN = os.path.join(VBA_DIR, "vbaProject.bin")
CACHE_KEY = os.path.join(VBA_DIR, "vbaProject.key")
TEMPLATE = "quickstart_standalone.xlsm"
DROP_MODULES = ("Module1",)  # the template's sample macro (imports a module named after the workbook)
CONF_SHEET = "xlwings.conf"

# caption -> Sub; the buttons sit in the panel's first column, Run over A1:B1 and Reset over A2:B2
# (xlopt.writers.panel), in the first screen as in the lesson's own file
BUTTONS = (("Run", "xlopt_run"), ("Reset", "xlopt_reset"))
BUTTON_WIDTH, BUTTON_HEIGHTS = 104, (36, 28)  # pixels: A+B is 2 x 7.5 characters, rows 1-2 are 30 and 24 points


# --- the VBA module ---------------------------------------------------------------------------------
def module_source():
    """The module's text with VBA's CRLF line ends (whatever git did to the file's)."""
    with open(MODULE_FILE, encoding="utf-8", newline="") as f:
        text = f.read()
    return "\r\n".join(text.replace("\r\n", "\n").split("\n"))


def subs(source):
    """{Sub name: the string passed to RunPython} of a module's public Subs that call RunPython."""
    out = {}
    for name, body in re.findall(r"^Sub (\w+)\(\)\s*$(.*?)^End Sub\s*$", source, re.M | re.S):
        calls = re.findall(r'^\s*RunPython "([^"]*)"\s*$', body, re.M)
        if len(calls) == 1:
            out[name] = calls[0]
    return out


def libreoffice_buttons(source):
    """{Sub name: the xlopt_lo.py function it calls in LibreOffice} (`If xlopt_libreoffice("run") ...`)."""
    return dict(re.findall(r'^Sub (\w+)\(\)\s*\n\s*If xlopt_libreoffice\("(\w+)"\) Then Exit Sub\s*$',
                           source, re.M))


def runpython_target(command):
    """'import xlopt.macros; xlopt.macros.run()' -> ('xlopt.macros', 'run'), or BadInput."""
    m = re.fullmatch(r"import ([\w.]+); ?\1\.(\w+)\(\)", command)
    if not m:
        raise BadInput(f"RunPython string {command!r} is not 'import MODULE; MODULE.FUNCTION()'")
    return m.group(1), m.group(2)


# --- the VBA project --------------------------------------------------------------------------------
def template_path():
    try:
        import xlwings
    except ImportError:
        raise MissingTool("xlwings is not installed: pip install 'xlopt[excel]' (it pins xlwings "
                          "exactly, as the VBA carries its version)") from None
    path = os.path.join(os.path.dirname(xlwings.__file__), TEMPLATE)
    if not os.path.exists(path):
        raise MissingTool(f"xlwings {xlwings.__version__} lacks {TEMPLATE}: reinstall xlwings")
    return path


def _template_bin(path):
    with zipfile.ZipFile(path) as z:
        return z.read("xl/vbaProject.bin")


def cache_key(template=None):
    import pyopenvba
    h = hashlib.sha256()
    for part in (_template_bin(template or template_path()), module_source().encode("utf-8"),
                 getattr(pyopenvba, "__version__", "?").encode(), repr(DROP_MODULES).encode()):
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def make_vba_project(template=None):
    """The template's VBA project with Module1 replaced by our module (bytes of vbaProject.bin)."""
    try:
        from pyopenvba import ExcelFile
    except ImportError:
        raise MissingTool("pyOpenVBA is not installed: pip install 'xlopt[excel]'") from None
    template = template or template_path()
    with tempfile.TemporaryDirectory(prefix="xlopt-vba-") as d:
        src, out = os.path.join(d, "in.xlsm"), os.path.join(d, "out.xlsm")
        shutil.copyfile(template, src)
        with ExcelFile(src) as wb:
            project = wb.vba_project()
            for name in DROP_MODULES:
                if name in wb.module_names():
                    project.delete_module(name)
            body = module_source().split("\r\n", 1)[1]  # pyOpenVBA writes the VB_Name line itself
            project.add_module(MODULE, body)
            wb.save(out)
        return _template_bin(out)


def vba_project(template=None):
    """vbaProject.bin's bytes: the cached file while its key matches, else made (and cached if we can)."""
    key = cache_key(template)
    try:
        with open(CACHE_KEY, encoding="ascii") as f:
            if f.read().strip() == key:
                with open(CACHE_BIN, "rb") as b:
                    return b.read()
    except OSError:
        pass
    data = make_vba_project(template)
    try:
        from xlopt.core.atomic import replacing
        with replacing(CACHE_BIN) as tmp:
            with open(tmp, "wb") as f:
                f.write(data)
        with replacing(CACHE_KEY) as tmp:
            with open(tmp, "w", encoding="ascii") as f:
                f.write(key + "\n")
    except OSError:
        pass  # an installed, read-only package: use the bytes without caching them
    return data


# --- xlwings.conf -----------------------------------------------------------------------------------
def project_root():
    """The folder holding the xlopt package when it runs from a source checkout, else None."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parts = {p.lower() for p in re.split(r"[\\/]", root)}
    return None if parts & {"site-packages", "dist-packages"} else root


def conda_settings():
    """(Conda Path, Conda Env) of the active conda environment, as `xlwings config create` finds them."""
    env, exe = os.getenv("CONDA_DEFAULT_ENV"), os.getenv("CONDA_EXE")
    if env and exe:
        return os.path.sep.join(exe.split(os.path.sep)[:-2]), env
    return None


def conf_rows(interpreter=None, platform=None, pythonpath=None, conda=None):
    """(key, value) rows of the xlwings.conf sheet, contiguous from A1 as xlwings reads them.

    A row present with an empty or foreign value would override the user's own xlwings.conf, so the
    building interpreter goes under the key of the platform that built the file (Interpreter_Win on
    Windows, Interpreter_Mac on macOS) and the project root goes into PYTHONPATH only there too.
    Built on Linux (no Excel), neither is set: the user's xlwings.conf, or `python` on the PATH,
    applies, and the README says how to point it at the Python that has xlopt installed.
    On Windows inside a conda environment, Conda Path and Conda Env replace Interpreter_Win (xlwings
    activates the environment only when no interpreter path is given).
    """
    interpreter = interpreter or sys.executable
    platform = platform or sys.platform
    pythonpath = project_root() if pythonpath is None else pythonpath
    rows = []
    key = "Interpreter_Win" if platform.startswith("win") else "Interpreter_Mac" if platform == "darwin" else None
    conda = conda if conda is not None else (conda_settings() if platform == sys.platform else None)
    if key == "Interpreter_Win" and conda:
        rows += [("Conda Path", conda[0]), ("Conda Env", conda[1])]
    elif key:
        rows.append((key, interpreter))
    if key:
        if pythonpath:
            rows.append(("PYTHONPATH", pythonpath))
    rows.append(("ADD_WORKBOOK_TO_PYTHONPATH", True))
    return rows


def _conf_notes(platform):
    return [
        "Settings for xlwings' RunPython (keys in column A from A1, no blank rows; a key present here "
        "overrides the user's ~/.xlwings/xlwings.conf).",
        f"Built on {platform}" + ("" if platform.startswith("win") or platform == "darwin" else
                                  " (no Excel there): no interpreter is set, so your xlwings.conf or "
                                  "'python' on the PATH runs the macros") + ".",
        "Interpreter_Win / Interpreter_Mac: the Python that has xlopt installed (pip install -e "
        "'.[excel]' in the project). Conda: add Conda Path and Conda Env instead.",
        "PYTHONPATH: folders to import from, e.g. the project root if xlopt is not installed.",
        "Delete this sheet to rely on xlwings.conf beside the workbook or in your user folder.",
    ]


def add_conf_sheet(workbook, interpreter=None, platform=None, pythonpath=None):
    interpreter, platform = interpreter or sys.executable, platform or sys.platform
    ws = workbook.add_worksheet(CONF_SHEET)
    rows = conf_rows(interpreter, platform, pythonpath)
    for r, (k, v) in enumerate(rows):
        ws.write_string(r, 0, k)
        if isinstance(v, bool):
            ws.write_boolean(r, 1, v)
        else:
            ws.write_string(r, 1, str(v))
    for r, note in enumerate(_conf_notes(platform), start=len(rows) + 1):
        ws.write_string(r, 0, note)
    ws.set_column(0, 0, 30)
    ws.set_column(1, 1, 60)
    ws.hide()  # not a lesson: xlwings reads a hidden sheet all the same
    return ws


# --- the workbook -----------------------------------------------------------------------------------
def add_buttons(worksheet):
    for (caption, sub), cell, height in zip(BUTTONS, panel.BUTTON_CELLS, BUTTON_HEIGHTS):
        worksheet.insert_button(cell, {"macro": sub, "caption": caption, "width": BUTTON_WIDTH,
                                       "height": height, "x_offset": 3, "y_offset": 2})


def add_macros(workbook, worksheets, interpreter=None, platform=None, pythonpath=None):
    """Make an xlsxwriter Workbook (file name *.xlsm) macro-enabled, with Run/Reset on each optimizer sheet.

    worksheets: sheet name -> xlsxwriter worksheet. Call after writing the sheets, before close().
    """
    filename = str(getattr(workbook, "filename", "") or "")
    if not filename.lower().endswith(".xlsm"):
        raise BadInput(f"a workbook with macros must be saved as .xlsm, not {filename or 'a stream'!r}")
    missing = [s for s in sheets.SHEETS if s not in worksheets]
    if missing:
        raise BadInput(f"add_macros: no worksheet for {', '.join(missing)} (got {', '.join(worksheets)})")
    workbook.add_vba_project(io.BytesIO(vba_project()), is_stream=True)
    workbook.set_vba_name("ThisWorkbook")
    for name in sheets.SHEETS:
        add_buttons(worksheets[name])
    add_conf_sheet(workbook, interpreter, platform, pythonpath)
    # the template's document modules are ThisWorkbook, Sheet1, Sheet2: keep Excel's default code
    # names so they match; Excel adds modules for the other sheets when it opens the file
    for ws in workbook.worksheets():
        if ws.vba_codename is None:
            ws.set_vba_name()
