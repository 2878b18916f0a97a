"""ruff (rules E, F, B; configured in pyproject.toml) is clean on the whole tree."""
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_ruff_is_clean():
    ruff = shutil.which("ruff", path=os.path.dirname(sys.executable)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed: pip install -e '.[dev]'")
    r = subprocess.run([ruff, "check", "--no-cache", ROOT], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
