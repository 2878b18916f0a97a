"""LibreOffice for the tests: `from lo_fixtures import lo, needs_lo`.

`lo` is one soffice for a whole test module. Tests skip (with the reason) only when soffice is not
installed at all; any other failure to start is an error, because CI installs LibreOffice and
python3-uno.
"""
import pytest

from xlopt.live import lo as lo_mod
from xlopt.core.errors import MissingTool


def soffice_missing():
    """The reason to skip, or None when soffice is installed."""
    try:
        lo_mod.find_soffice()
    except MissingTool as e:
        return f"LibreOffice is not installed: {e}"
    return None


needs_lo = pytest.mark.skipif(soffice_missing() is not None, reason=str(soffice_missing()))


@pytest.fixture(scope="module")
def lo():
    reason = soffice_missing()
    if reason:
        pytest.skip(reason)
    with lo_mod.LibreOffice() as office:
        yield office
