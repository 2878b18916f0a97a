"""xlopt check: recalculate a workbook in LibreOffice and compare every formula cell with the engine."""
import os
import time
import zipfile

from xlopt.live import readback
from xlopt.writers import paths
from xlopt.core import sheets, workbook_file
from xlopt.core.errors import BadInput
from xlopt.live.lo import LibreOffice

SHOW_PROBLEMS = 12


def add_arguments(p):
    p.add_argument("workbook", metavar="WORKBOOK", help="an .xlsx/.xlsm written by xlopt build (edited or not)")
    p.add_argument("--sheet", metavar="SHEET", default=None,
                   help="check only this sheet: data, paths or one of the optimizer sheets (default: every one)")


def precheck(path, sheet):
    """What can be refused before starting LibreOffice."""
    if sheet is not None and sheet not in (readback.DATA, paths.NAME) and sheet not in sheets.BY_NAME:
        raise BadInput(f"--sheet {sheet!r} is not one of the lab's sheets: {readback.DATA}, {', '.join(sheets.SHEETS)}, "
                       f"{paths.NAME}")
    if not os.path.exists(path):
        raise BadInput(f"{path} does not exist")
    if not os.path.isfile(path):
        raise BadInput(f"{path} is not a file")
    if not os.access(path, os.R_OK):
        raise BadInput(f"cannot read {path}: permission denied")
    if os.path.splitext(path)[1].lower() in (".xlsx", ".xlsm", ".ods") and not zipfile.is_zipfile(path):
        raise BadInput(f"{path} is not a workbook (an .xlsx, .xlsm or .ods file is a zip archive; this one is not)")
    if os.path.splitext(path)[1].lower() in (".xlsx", ".xlsm"):
        workbook_file.check_parts(path)  # a part LibreOffice would drop unread: the check would say OK


def main(args):
    precheck(args.workbook, args.sheet)
    t0 = time.perf_counter()
    with LibreOffice() as lo:
        t1 = time.perf_counter()
        doc = lo.load(args.workbook)
        results = readback.check(doc, args.sheet)
        t2 = time.perf_counter()
    t3 = time.perf_counter()
    problems = [p for r in results for p in r.problems]
    for r in results:
        where = f" at {r.sheet}!{r.where}" if r.max_rel > 0 else ""
        print(f"{r.sheet:9} {r.checked:5d} formula cells  largest relative difference {r.max_rel:.3g}{where}"
              + ("" if r.ok else f"  {len(r.problems)} MISMATCHED"))
    total = sum(r.checked for r in results)
    worst = max(results, key=lambda r: r.max_rel)
    print(f"checked {total} formula cells on {len(results)} sheet(s) against the engine; largest relative "
          f"difference {worst.max_rel:.3g} (tolerance {readback.RTOL:g}); "
          f"{t3 - t0:.2f} s (LibreOffice start {t1 - t0:.2f} s, load+recalc+compare {t2 - t1:.2f} s, "
          f"shutdown {t3 - t2:.2f} s)")
    if problems:
        for p in problems[:SHOW_PROBLEMS]:
            print("  " + p)
        if len(problems) > SHOW_PROBLEMS:
            print(f"  ... and {len(problems) - SHOW_PROBLEMS} more")
        print(f"FAILED: {len(problems)} cell(s) do not match the engine")
        return 1
    print("OK: every formula cell matches the engine")
    return 0
