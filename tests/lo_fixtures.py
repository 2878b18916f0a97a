"""A LibreOffice for a whole test module: `from lo_fixtures import lo` in a test file.

Skips (with the reason) only when soffice is not installed at all; any other failure to start is an
error, because CI installs LibreOffice and python3-uno.
"""
import pytest


@pytest.fixture(scope="module")
def lo():
    from xlopt import lo as lo_mod
    from xlopt.errors import MissingTool
    try:
        lo_mod.find_soffice()
    except MissingTool as e:
        pytest.skip(f"LibreOffice is not installed: {e}")
    with lo_mod.LibreOffice() as office:
        yield office
