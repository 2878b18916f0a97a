# xlopt's script for LibreOffice (the user profile's Scripts/python/xlopt_lo.py).
# Installed by `xlopt install-libreoffice`; removed by `xlopt install-libreoffice --uninstall`.
#
# run / reset: what the Run and Reset buttons of an xlopt .xlsm call in LibreOffice Calc (their VBA
#   Subs detect LibreOffice and call these through the document's script provider): the same checked
#   press as Excel's buttons (xlopt.live.press), on the active sheet of the open document.
# on_load: bound to LibreOffice's "View created" event (fired as a document opens). LibreOffice 7.4 compiles every module of a
#   document's VBA library before it runs any Sub of it, and cannot compile two modules of xlwings'
#   VBA project (xlwings, Dictionary): then no button of the file does anything. For a workbook with
#   xlopt's buttons only, on_load takes those two modules (Excel's RunPython needs them, LibreOffice
#   never does) out of the open document's Basic library, and puts them back around every save, so
#   the saved file still works in Excel.
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
AFTER_SAVE = ("OnSaveDone", "OnSaveAsDone", "OnCopyToDone", "OnSaveFailed", "OnSaveAsFailed",
              "OnCopyToFailed")
_kept = {}  # document's RuntimeUID -> (document, {module: source}, listener)


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


def _listener(doc, sources):
    import unohelper
    from com.sun.star.document import XDocumentEventListener

    class SaveWatch(unohelper.Base, XDocumentEventListener):
        def documentEventOccured(self, event):
            if event.EventName in BEFORE_SAVE:
                _unmodified(doc, lambda: _put_back(doc, sources))
            elif event.EventName in AFTER_SAVE:
                _unmodified(doc, lambda: _take_out(doc, sources))
            elif event.EventName == "OnUnload":
                _kept.pop(doc.RuntimeUID, None)

        def disposing(self, source):
            _kept.pop(doc.RuntimeUID, None)

    return SaveWatch()


def on_load(*args):
    """LibreOffice's View created event: make an xlopt workbook's buttons runnable (see the top)."""
    doc = getattr(args[0], "Source", None) if args else None
    if doc is None or not hasattr(doc, "supportsService"):
        return
    if not doc.supportsService("com.sun.star.sheet.SpreadsheetDocument") or doc.RuntimeUID in _kept:
        return
    lib = _library(doc)
    if lib is None:
        return
    sources = {name: lib.getByName(name) for name in EXCEL_ONLY if lib.hasByName(name)}
    if not sources:
        return
    _unmodified(doc, lambda: _take_out(doc, sources))
    watch = _listener(doc, sources)
    doc.addDocumentEventListener(watch)
    _kept[doc.RuntimeUID] = (doc, sources, watch)


g_exportedScripts = (run, reset, on_load)
