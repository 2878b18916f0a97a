"""`xlopt check` where no spreadsheet engine is needed: missing LibreOffice, paths refused up front."""
import os
import shutil

import pytest

from xlopt.live import lo as lo_mod
from xlopt.core.errors import MissingTool


def test_missing_libreoffice_names_the_packages(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(os.path, "exists", lambda p: False)
    with pytest.raises(MissingTool, match="apt-get install libreoffice-calc-nogui python3-uno"):
        with lo_mod.LibreOffice():
            pass


def test_paths_are_refused_before_libreoffice_starts(xlopt_cli, tmp_path, monkeypatch):
    monkeypatch.setattr(lo_mod.LibreOffice, "__enter__", lambda self: pytest.fail("LibreOffice started"))
    notes = tmp_path / "notes.xlsx"
    notes.write_text("not a workbook")
    for args, message in (([tmp_path / "missing.xlsx"], "does not exist"),
                          ([tmp_path], "is not a file"),
                          ([notes], "is not a workbook"),
                          ([notes, "--sheet", "sgd"], "--sheet 'sgd' is not one of the lab's sheets")):
        code, out, err = xlopt_cli("check", *args)
        assert code == 2 and message in err and err.count("\n") == 1, err
    assert notes.read_text() == "not a workbook"
