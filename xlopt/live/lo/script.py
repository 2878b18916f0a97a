"""The buttons inside LibreOffice: the checked press on a document open in this very soffice.

The profile's xlopt_lo.py (see xlopt_lo.py beside this file, installed by `xlopt install-libreoffice`)
calls `press_button(document, "run" | "reset", message)` when a Run or Reset button is clicked in
Calc. It runs in LibreOffice's own Python, so UNO calls are in-process: `LiveCore` is bridge.Core's
calls over the open document (no soffice to start, no file to load or save), a `Doc` over it and
`UnoBook` over the active sheet give the press the same book `xlopt click` uses. The sheet updates
in place; nothing is saved (the user saves when they like).
"""
import os

from xlopt.core import buttons
from xlopt.core.errors import XloptError
from xlopt.live.lo.bridge import Core
from xlopt.live.lo.book import UnoBook
from xlopt.live.lo.doc import Doc

HANDLE = 1


class LiveCore(Core):
    """bridge.Core's calls over documents already open in this process (never loads, closes or quits)."""

    def __init__(self, document):
        import uno
        from com.sun.star.beans import PropertyValue
        self._uno, self._pv = uno, PropertyValue
        self.desktop = None
        self._hold({HANDLE: document})

    def load(self, path):
        raise XloptError("LiveCore works on the open document only")

    def close(self, doc):
        self._forget(doc)  # the user's document stays open

    def terminate(self):
        for doc in list(self.docs):
            self._forget(doc)


def live_doc(document):
    """A Doc over an open spreadsheet document."""
    url = getattr(document, "URL", "") or ""
    path = ""
    if url.startswith("file:"):
        import uno
        path = uno.fileUrlToSystemPath(url)
    return Doc(LiveCore(document), HANDLE, path)


def workbook_carry(document):
    """The workbook-scope name `carry` (="lesson" or ="full"); none: lesson."""
    names = document.NamedRanges
    if not names.hasByName("carry"):
        return "lesson"
    return buttons.parse_carry(names.getByName("carry").getContent(), " (Sheet > Named Ranges > Manage)")


def active_sheet(document):
    return document.getCurrentController().getActiveSheet().getName()


def press_button(document, button, message, sheet=None):
    """Press Run or Reset on the active sheet (or `sheet`); on an error show one message, write nothing.

    Returns "ok: ..." or the message shown.
    """
    from xlopt.live.press import press

    auto = document.isAutomaticCalculationEnabled()
    locked = False
    try:
        sheet = sheet or active_sheet(document)
        document.calculateAll()  # Calc does not recalculate xlsx files on load by default
        book = UnoBook(live_doc(document), sheet)
        carry = workbook_carry(document)
        document.lockControllers()
        locked = True
        log = press(book, button, carry=carry)
    except XloptError as e:
        text = str(e)
    except Exception as e:  # a bug or a UNO failure: say so rather than nothing
        text = f"xlopt: {button} on this sheet failed unexpectedly ({type(e).__name__}: {e})"
    else:
        text = None
    finally:
        if locked:
            document.unlockControllers()
        if document.isAutomaticCalculationEnabled() != auto:
            document.enableAutomaticCalculation(auto)
    if text is not None:
        message(document, text)
        return text
    epoch = log[-1]["epoch"] if log else 0
    return f"ok: {button} on {sheet} (carry {carry}) -> epoch {epoch}"


def installed_paths():
    """The folders the installed script must add to LibreOffice's sys.path to import this xlopt."""
    return [os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))]
