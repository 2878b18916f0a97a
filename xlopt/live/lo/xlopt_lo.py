# xlopt's script for LibreOffice (the user profile's Scripts/python/xlopt_lo.py).
# Installed by `xlopt install-libreoffice`; removed by `xlopt install-libreoffice --uninstall`.
#
# run / reset: what the Run and Reset buttons of an xlopt .xlsm call in LibreOffice Calc (their VBA
#   Subs detect LibreOffice and call these through the document's script provider): the same checked
#   press as Excel's buttons (xlopt.live.press), on the active sheet of the open document.
# on_load: bound to LibreOffice's "View created" event (fired as a document opens). For a workbook with
#   xlopt's buttons (its VBA library holds the module xlopt_buttons) it does three things:
#   1. LibreOffice 7.4 compiles every module of a document's VBA library before it runs any Sub of it,
#      and cannot compile two modules of xlwings' VBA project (xlwings, Dictionary): then no button of
#      the file does anything. on_load takes those two modules (Excel's RunPython needs them,
#      LibreOffice never does) out of the open document's Basic library, and puts them back around
#      every save.
#   2. LibreOffice's own save (File > Save, Save As .xlsm) writes the buttons in a form it cannot read
#      back (reopened, the sheets show no Run/Reset) and rebuilds the VBA project without the class
#      attributes of xlwings' Dictionary (Excel's RunPython then fails). on_load keeps the file's bytes
#      as they were when it opened; after each save to .xlsm the saved file gets back, byte for byte,
#      the VBA project, the buttons (VML shapes, ctrlProps, <controls>), drawings, charts and defined
#      names of that original (xlopt.live.keep_parts, as `xlopt click` does), under xlopt's workbook
#      lock, with LibreOffice's modification time (so Calc's next save does not ask whether the file
#      was changed by someone else). "Save a Copy" (storeToURL) is not seen: its event names no file.
#   3. When macro security blocks the document's macros, it says once why the buttons do nothing.
# Self-contained on purpose (uno only): it must say so when LibreOffice's Python cannot import xlopt.
import json
import os
import sys

XLOPT_PATHS = []  # written by the installer: the folder(s) LibreOffice's Python imports xlopt from
for _p in XLOPT_PATHS:
    if _p not in sys.path:
        sys.path.insert(0, _p)

BUTTONS_MODULE = "xlopt_buttons"
EXCEL_ONLY = ("xlwings", "Dictionary")  # xlwings' VBA modules LibreOffice 7.4 cannot compile
BEFORE_SAVE = ("OnSave", "OnSaveAs", "OnCopyTo")
SAVED = ("OnSaveDone", "OnSaveAsDone")  # the document's URL is the file just written
AFTER_SAVE = SAVED + ("OnCopyToDone", "OnSaveFailed", "OnSaveAsFailed", "OnCopyToFailed")
XLSM_FILTER = "Calc MS Excel 2007 VBA XML"
BLOCKED = ("xlopt: LibreOffice's macro security blocked this workbook's macros, so its Run and Reset buttons "
           "do nothing. Tools > Options > LibreOffice > Security > Macro Security: choose Medium (then "
           "reopen the file and answer Enable Macros), or keep High and add this file's folder under "
           "Trusted Sources > Trusted File Locations; `xlopt install-libreoffice --macro-security medium` "
           "sets Medium for you.")
_kept = {}  # document's RuntimeUID -> (document, {module: source}, listener, the file's bytes at load)


def message(doc, text):
    """One error box (silently dismissed in headless mode); XLOPT_LO_MESSAGES also logs it to a file."""
    log = os.environ.get("XLOPT_LO_MESSAGES")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(json.dumps({"title": "xlopt", "text": text}) + "\n")
    try:
        import uno
        from com.sun.star.awt.MessageBoxType import ERRORBOX
        ctx = uno.getComponentContext()
        toolkit = ctx.ServiceManager.createInstanceWithContext("com.sun.star.awt.Toolkit", ctx)
        parent = doc.getCurrentController().getFrame().getContainerWindow()
        toolkit.createMessageBox(parent, ERRORBOX, 1, "xlopt", text).execute()  # 1: an OK button
    except Exception:
        pass  # no window (a document without a view): the log and the return value carry the text


def _press(button, args):
    doc = args[0] if args and hasattr(args[0], "getScriptProvider") else XSCRIPTCONTEXT.getDocument()  # noqa: F821
    try:
        from xlopt.live.lo import script
    except Exception as e:
        text = (f"LibreOffice's Python ({sys.version.split()[0]}) cannot import xlopt ({type(e).__name__}: "
                f"{e}); looked in {', '.join(XLOPT_PATHS) or 'no extra folder'}. Run 'xlopt "
                "install-libreoffice' with the Python that has xlopt, then restart LibreOffice. "
                "Nothing was written.")
        message(doc, text)
        return text
    return script.press_button(doc, button, message)


def run(*args):
    """The Run button: five epochs on the active sheet."""
    return _press("run", args)


def reset(*args):
    """The Reset button: a = b = 1 and the sheet's warm-up passes, on the active sheet."""
    return _press("reset", args)


# --- the hook when a document opens -------------------------------------------------------------------------
def _library(doc):
    try:
        libs = doc.BasicLibraries
        if not libs.hasByName("VBAProject"):
            return None
        libs.loadLibrary("VBAProject")
        lib = libs.getByName("VBAProject")
        return lib if lib.hasByName(BUTTONS_MODULE) else None
    except Exception:
        return None


def _put_back(doc, sources):
    lib = _library(doc)
    for name, src in sources.items():
        if lib is not None and not lib.hasByName(name):
            lib.insertByName(name, src)


def _take_out(doc, sources):
    lib = _library(doc)
    for name in sources:
        if lib is not None and lib.hasByName(name):
            lib.removeByName(name)


def _unmodified(doc, change):
    was = doc.isModified()
    change()
    if not was:
        doc.setModified(False)


def _filter(doc):
    for p in doc.getArgs():
        if p.Name == "FilterName":
            return p.Value
    return None


def _file(doc):
    """The document's file on disk, or None (a new document, a remote URL)."""
    url = doc.getURL() or ""
    if not url.startswith("file:"):
        return None
    import uno
    return uno.fileUrlToSystemPath(url)


def _original(doc):
    """The bytes of the .xlsm the document was loaded from, or None."""
    path = _file(doc)
    if path is None or _filter(doc) != XLSM_FILTER:
        return None
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def _keep_parts(doc, original):
    """After a save to .xlsm: the saved file gets back what LibreOffice's export dropped (see the top)."""
    path = _file(doc)
    if original is None or path is None or _filter(doc) != XLSM_FILTER:
        return
    try:
        from xlopt.live import keep_parts
        keep_parts.restore_saved(original, path)
    except Exception as e:
        message(doc, f"xlopt: the file was saved, but its buttons and VBA project could not be put back "
                     f"({type(e).__name__}: {e}); reopened in LibreOffice it may show no Run/Reset buttons. "
                     "Rebuild it with `xlopt build`, or save again.")


def _listener(doc, sources, original):
    import unohelper
    from com.sun.star.document import XDocumentEventListener

    class SaveWatch(unohelper.Base, XDocumentEventListener):
        def documentEventOccured(self, event):
            if event.EventName in BEFORE_SAVE:
                _unmodified(doc, lambda: _put_back(doc, sources))
            elif event.EventName in AFTER_SAVE:
                _unmodified(doc, lambda: _take_out(doc, sources))
                if event.EventName in SAVED:
                    _keep_parts(doc, original)
            elif event.EventName == "OnUnload":
                _kept.pop(doc.RuntimeUID, None)

        def disposing(self, source):
            _kept.pop(doc.RuntimeUID, None)

    return SaveWatch()


def _macros_blocked(doc):
    try:
        return not doc.AllowMacroExecution
    except Exception:
        return False


def on_load(*args):
    """LibreOffice's View created event: make an xlopt workbook's buttons runnable and keep them (see the top)."""
    doc = getattr(args[0], "Source", None) if args else None
    if doc is None or not hasattr(doc, "supportsService"):
        return
    if not doc.supportsService("com.sun.star.sheet.SpreadsheetDocument") or doc.RuntimeUID in _kept:
        return
    lib = _library(doc)
    if lib is None:
        return
    sources = {name: lib.getByName(name) for name in EXCEL_ONLY if lib.hasByName(name)}
    original = _original(doc)
    if sources:
        _unmodified(doc, lambda: _take_out(doc, sources))
    watch = _listener(doc, sources, original)
    doc.addDocumentEventListener(watch)
    _kept[doc.RuntimeUID] = (doc, sources, watch, original)
    if _macros_blocked(doc):
        message(doc, BLOCKED)


g_exportedScripts = (run, reset, on_load)
