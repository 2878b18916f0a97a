"""LibreOffice for the tests: `from lo_fixtures import lo, needs_lo`.

`lo` is one soffice for the whole test run (session-scoped: starting one costs a second or two, and
every LibreOffice test file used to start its own). A test that ends it, or a call that killed it, does
not spoil the rest: the next test that asks for `lo` gets a fresh one. Tests skip (with the reason)
only when soffice is not installed at all; any other failure to start is an error, because CI
installs LibreOffice and python3-uno.
"""
import pytest

from xlopt.cli import click as cmd_click
from xlopt.core import progress, sheets
from xlopt.core.errors import MissingTool
from xlopt.live import lo as lo_mod
from xlopt.live import press
from xlopt.live.lo import UnoBook


def soffice_missing():
    """The reason to skip, or None when soffice is installed."""
    try:
        lo_mod.find_soffice()
    except MissingTool as e:
        return f"LibreOffice is not installed: {e}"
    return None


needs_lo = pytest.mark.skipif(soffice_missing() is not None, reason=str(soffice_missing()))


class _Shared:
    """The session's soffice, started on first use and again whenever the last one has ended."""

    def __init__(self):
        self.office = None

    def get(self):
        if self.office is not None and (self.office.proc is None or self.office.proc.poll() is not None
                                        or self.office.failure):
            self.close()
        if self.office is None:
            office = lo_mod.LibreOffice()
            office.__enter__()
            self.office = office
        return self.office

    def close(self):
        office, self.office = self.office, None
        if office is not None:
            office.__exit__(None, None, None)


SHARED = _Shared()  # ended by conftest's session fixture `_lo_session_end`


@pytest.fixture(scope="module")
def lo():
    """The session's soffice (module-scoped only so that module-scoped fixtures can use it)."""
    reason = soffice_missing()
    if reason:
        pytest.skip(reason)
    return SHARED.get()


def press_every_sheet(lo, path, button, carry, times=1):
    """`xlopt click`'s press (load, check, press, recalculate, save as click saves) of `button`, `times`
    times, on every sheet of the workbook in one load: the file carries each sheet's state onward."""
    doc = lo.load(path)
    try:
        for name in sheets.SHEETS:
            book = UnoBook(doc, name)
            cmd_click.check_formulas(doc, book)
            press.press(book, button, times, carry, progress.noop)
        doc.calculate_all()
        cmd_click.save(doc, path)
    finally:
        doc.close()
