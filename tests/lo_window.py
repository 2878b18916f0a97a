"""Open a workbook in a real LibreOffice Calc window (under Xvfb) and report what a person sees.

Run by Debian's /usr/bin/python3 (it imports LibreOffice's `uno`):

    python3 tests/lo_window.py BOOK.xlsm OUT_DIR [--size 1366x768] [--sheets a,b] [--shots]

For every sheet (or the ones named) it activates the sheet, scrolls it to A1 and writes, in
OUT_DIR/window.json, the visible area and the rectangle of each control (the Run/Reset buttons)
and of each cell the caller asks about (--cells C1,D2 or a defined name), all in 1/100 mm as
LibreOffice reports them; with --shots also OUT_DIR/<sheet>.png, a screenshot of the screen.
Xvfb, soffice and the private profile are removed at the end, also on an error.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.append("/usr/lib/python3/dist-packages")
sys.path.append("/usr/lib/libreoffice/program")
import uno  # noqa: E402
from com.sun.star.beans import PropertyValue  # noqa: E402

PROFILE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseLocking" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="FirstRun" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="ShowTipOfTheDay" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""  # noqa: E501


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def rect(obj):
    p, s = obj.Position, obj.Size
    return [p.X, p.Y, s.Width, s.Height]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("book")
    ap.add_argument("out")
    ap.add_argument("--size", default="1366x768")
    ap.add_argument("--sheets", default="")
    ap.add_argument("--cells", default="", help="comma-separated cells or sheet-scoped names to report")
    ap.add_argument("--shots", action="store_true")
    ap.add_argument("--display", default=":93")
    ap.add_argument("--goto", default="", help="scroll to this cell before the screenshot (default A1)")
    a = ap.parse_args(argv)
    w, h = (int(v) for v in a.size.split("x"))
    os.makedirs(a.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="xlopt-window-")
    procs = []
    try:
        os.makedirs(os.path.join(tmp, "user"))
        with open(os.path.join(tmp, "user", "registrymodifications.xcu"), "w") as f:
            f.write(PROFILE)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        env.update(DISPLAY=a.display, PATH="/usr/bin:/bin", SAL_USE_VCLPLUGIN="gen")
        procs.append(subprocess.Popen(["Xvfb", a.display, "-screen", "0", f"{w}x{h}x24", "-nolisten", "tcp"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(1.0)
        pipe = f"xlopt_window_{os.getpid()}"
        procs.append(subprocess.Popen(
            ["soffice", "--nologo", "--norestore", "--nodefault", "--nolockcheck",
             f"-env:UserInstallation=file://{tmp}",
             f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        deadline = time.monotonic() + 90
        while True:
            try:
                ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        url = uno.systemPathToFileUrl(os.path.abspath(a.book))
        doc = desktop.loadComponentFromURL(url, "_blank", 0, (prop("MacroExecutionMode", 4),))
        doc.calculateAll()
        ctl = doc.CurrentController
        win = ctl.Frame.ContainerWindow
        win.setPosSize(0, 0, w, h, 15)
        try:
            win.IsMaximized = True
        except Exception:
            pass
        time.sleep(1.5)
        every = list(doc.Sheets.ElementNames)
        hidden = [n for n in every if not doc.Sheets.getByName(n).IsVisible]
        names = [n for n in a.sheets.split(",") if n] or [n for n in every if n not in hidden]
        report = {"size": [w, h], "opened_on": ctl.ActiveSheet.Name, "hidden": hidden, "sheets": {}}
        for name in names:
            sheet = doc.Sheets.getByName(name)
            ctl.setActiveSheet(sheet)
            ctl.select(sheet.getCellRangeByName("A1"))
            if a.goto:
                cell = sheet.getCellRangeByName(a.goto).CellAddress
                ctl.setFirstVisibleColumn(cell.Column)
                ctl.setFirstVisibleRow(cell.Row)
            time.sleep(0.8)
            va = ctl.VisibleArea
            info = {"visible": [va.X, va.Y, va.Width, va.Height], "controls": [], "cells": {},
                    "first_row": ctl.getFirstVisibleRow() if hasattr(ctl, "getFirstVisibleRow") else None,
                    "split": [ctl.SplitRow, ctl.SplitColumn] if ctl.hasFrozenPanes() else None}
            dp = sheet.DrawPage
            for i in range(dp.Count):
                shp = dp.getByIndex(i)
                label = None
                try:
                    label = shp.Control.Label
                except Exception:
                    pass
                info["controls"].append({"label": label, "rect": rect(shp), "kind": shp.ShapeType})
            for c in [c for c in a.cells.split(",") if c]:
                try:
                    if doc.NamedRanges.hasByName(c):
                        r = doc.NamedRanges.getByName(c).ReferredCells
                    else:
                        try:
                            r = sheet.getCellRangeByName(c)
                        except Exception:
                            nr = [n for n in sheet.NamedRanges.ElementNames if n == c]
                            r = sheet.NamedRanges.getByName(nr[0]).ReferredCells
                    info["cells"][c] = {"rect": rect(r), "text": r.getCellByPosition(0, 0).String}
                except Exception as e:  # noqa: BLE001 - reported, the caller asserts
                    info["cells"][c] = {"error": str(e)}
            report["sheets"][name] = info
            if a.shots:
                subprocess.run(["import", "-display", a.display, "-window", "root", os.path.join(a.out, f"{name}.png")],
                               check=False, env=env)
        with open(os.path.join(a.out, "window.json"), "w") as f:
            json.dump(report, f, indent=1)
        try:
            doc.close(True)
        except Exception:
            pass
    finally:
        for p in reversed(procs):
            try:
                os.killpg(p.pid, 9) if p.args[0] == "soffice" else p.kill()
            except (ProcessLookupError, PermissionError):
                pass
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
