"""What a person sees: the built workbook in a real LibreOffice Calc window (Xvfb, 1366×768, 100 %).

`tests/lo_window.py` opens the file in Calc's own window, shows each sheet scrolled to A1 and reports
through UNO the visible area of the frozen top rows and where each control and panel cell lies. On
every optimizer sheet Run, Reset and the whole panel (b, a, lr, the true b and a, rmse, the epoch
count, the watch line) must lie inside that area, so they are on the first screen and stay there
while the rows scroll. Needs Xvfb and LibreOffice's GUI package (.ci/setup installs both).
"""
import json
import os
import shutil
import subprocess

import pytest
from lo_fixtures import lo, press_every_sheet  # noqa: F401  (the session's LibreOffice)

from xlopt.core import sheets
from xlopt.core.cells import col_index, parse_ref
from xlopt.writers import panel, workbook

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRST_SCREEN = [f"{chr(65 + c)}{r}" for r in range(3, 28) for c in range(13)]  # A3:M27 below the panel
GUI_PLUGIN = "/usr/lib/libreoffice/program/libvclplug_genlo.so"


def _missing():
    if not shutil.which("Xvfb"):
        return "Xvfb (apt-get install xvfb)"
    if not os.path.exists(GUI_PLUGIN):
        return "LibreOffice's GUI (apt-get install libreoffice-calc)"
    if not os.path.exists("/usr/bin/python3") or subprocess.run(["/usr/bin/python3", "-c", "import uno"],
                                                                capture_output=True).returncode:
        return "python3-uno"
    return None


def _panel_cells(sheet):
    p = panel.layout(sheet)
    return ["C1", "C2", sheet.lr_cell, p.true_b, p.true_a, p.rmse, p.epoch, p.watch[0], p.watch[1]]


@pytest.fixture(scope="module")
def window(lo, tmp_path_factory):
    missing = _missing()
    if missing:
        pytest.fail(f"a real Calc window needs {missing}; run bash .ci/setup")
    folder = tmp_path_factory.mktemp("window")
    book = str(folder / "graddesc.xlsm")
    workbook.build(book)
    press_every_sheet(lo, book, "run", "lesson", times=2)  # ten epochs a sheet: away from Reset's round numbers
    cells = sorted({c for n in sheets.SHEETS for c in _panel_cells(sheets.get(n))} | set(FIRST_SCREEN))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    r = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tests", "lo_window.py"), book, str(folder),
                        "--size", "1366x768", "--cells", ",".join(cells), "--display", f":{90 + os.getpid() % 8}"],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    with open(folder / "window.json") as f:
        return json.load(f)


def _inside(rect, area):
    x, y, w, h = rect
    ax, ay, aw, ah = area
    return x >= ax and y >= ay and x + w <= ax + aw + 1 and y + h <= ay + ah + 1


def test_the_panel_and_the_frozen_rows_by_the_built_file(tmp_path):
    """Without a window (the fast tier): on every sheet of the built file rows 1-3 are frozen and every
    panel cell lies in rows 1-2, columns A to panel.LAST_VISIBLE, what the window tests below measure a
    1366x768 Calc window to show."""
    from openpyxl import load_workbook
    book = load_workbook(workbook.build(str(tmp_path / "graddesc.xlsx")))
    last = col_index(panel.LAST_VISIBLE)
    for name in sheets.SHEETS:
        assert book[name].freeze_panes == "A4", name
        for cell in _panel_cells(sheets.get(name)):
            row, col, _, _ = parse_ref(cell)
            assert row <= 1 and col <= last, f"{name}!{cell} is outside A1:{panel.LAST_VISIBLE}2"


@pytest.mark.slow
@pytest.mark.parametrize("name", sheets.SHEETS)
def test_buttons_and_panel_are_on_the_first_screen_and_frozen(window, name):
    info = window["sheets"][name]
    assert info["split"] == [3, 0], "rows 1-3 are frozen: the panel stays while the rows scroll"
    area = info["visible"]
    controls = {c["label"]: c["rect"] for c in info["controls"] if c["label"]}
    assert {"Run", "Reset"} <= set(controls), info["controls"]
    for label in ("Run", "Reset"):
        assert _inside(controls[label], area), f"{name}: {label} at {controls[label]} outside {area}"
    for cell in _panel_cells(sheets.get(name)):
        got = info["cells"][cell]
        assert "rect" in got, got
        assert _inside(got["rect"], area), f"{name}!{cell} at {got['rect']} is outside the first screen {area}"
    shown = {c: info["cells"][c]["text"] for c in _panel_cells(sheets.get(name))}
    assert all("#" not in t for t in shown.values()), f"{name}: a panel cell shows ### at 1366x768: {shown}"
    p = panel.layout(sheets.get(name))
    assert shown[p.watch[0]].startswith("watch: "), shown
    assert shown[p.epoch] == "epoch 10" and shown[p.rmse].startswith("rmse ")
    hashes = [c for c in FIRST_SCREEN if "#" in info["cells"][c].get("text", "")]
    assert not hashes, f"{name}: ### after ten epochs at 1366x768 in {hashes}"


@pytest.mark.slow
def test_the_workbook_opens_on_the_instructions_and_hides_the_xlwings_settings(window):
    assert window["opened_on"] == workbook.INSTRUCTIONS
    assert window["hidden"] == ["xlwings.conf"]
