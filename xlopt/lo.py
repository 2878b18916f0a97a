"""LibreOffice headless as a spreadsheet engine: load, recalculate, read, write, save — over UNO.

    with LibreOffice() as lo:
        doc = lo.load("graddesc.xlsx")          # hidden, every formula recalculated
        doc.read("adam", "rmse")                # a float; a multi-cell range gives a list
        book = UnoBook(doc, "adam")             # xlopt.buttons' book interface over one sheet

Each `LibreOffice` starts its own soffice with a private profile (two soffice on one profile hand
jobs to each other) and talks to it over a named pipe. Leaving the `with` block — normally, on an
error or on Ctrl-C — closes the documents, ends soffice and deletes the profile.

UNO's Python module (python3-uno) is built for the system's /usr/bin/python3. When this Python can
import it, the calls run in process; otherwise the same calls go to a small server, this file run
under /usr/bin/python3, one JSON line each way. Every call is one round trip; whole ranges are read
with getDataArray and written with setDataArray, so an epoch costs the same few trips for any rows.
"""
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager

if __package__ in (None, ""):  # run as a script: the server under /usr/bin/python3
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from xlopt.atomic import replacing  # noqa: E402
from xlopt.cells import cell_name, col_index, col_letters, is_cell, parse_ref  # noqa: E402,F401
from xlopt.errors import BadInput, MissingTool  # noqa: E402

INSTALL = "apt-get install libreoffice-calc-nogui python3-uno"
UNO_PATHS = ("/usr/lib/python3/dist-packages", "/usr/lib/libreoffice/program",
             "/opt/libreoffice/program")
SYSTEM_PYTHON = "/usr/bin/python3"
START_TIMEOUT_S = 60
FILTERS = {".xlsx": "Calc MS Excel 2007 XML", ".xlsm": "Calc MS Excel 2007 VBA XML", ".ods": "calc8"}
# LibreOffice's error codes as a person sees them
ERRORS = {501: "Err:501 (invalid character)", 502: "Err:502 (invalid argument)", 503: "#NUM!",
          504: "Err:504 (parameter list)", 507: "Err:507 (missing pair)", 508: "Err:508 (missing bracket)",
          511: "Err:511 (missing variable)", 518: "Err:518 (missing variable)", 519: "#VALUE!",
          522: "Err:522 (circular reference)", 523: "Err:523 (no convergence)", 524: "#REF!",
          525: "#NAME?", 532: "#DIV/0!", 32767: "#NULL!"}


# --- A1 references -------------------------------------------------------------------------------
# --- UNO primitives: run in this process or in the server --------------------------------------
class _Core:
    """The UNO calls, with plain Python values in and out (JSON-able)."""

    def __init__(self, pipe):
        import uno
        from com.sun.star.beans import PropertyValue
        self._uno, self._pv = uno, PropertyValue
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        self.desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        self.docs, self._next = {}, 1

    def _props(self, **kw):
        out = []
        for k, v in kw.items():
            p = self._pv()
            p.Name, p.Value = k, v
            out.append(p)
        return tuple(out)

    def _sheet(self, doc, sheet):
        sheets = self.docs[doc].Sheets
        if not sheets.hasByName(sheet):
            raise BadInput(f"the workbook has no sheet {sheet!r}")
        return sheets.getByName(sheet)

    def load(self, path):
        url = self._uno.systemPathToFileUrl(os.path.abspath(path))
        try:
            doc = self.desktop.loadComponentFromURL(url, "_blank", 0, self._props(Hidden=True, MacroExecutionMode=0))
        except Exception as e:  # IllegalArgumentException, IOException: LibreOffice could not read it
            raise BadInput(f"{path} is not a workbook LibreOffice can open ({type(e).__name__})") from None
        if doc is None:
            raise BadInput(f"{path} is not a workbook LibreOffice can open")
        if not doc.supportsService("com.sun.star.sheet.SpreadsheetDocument"):
            doc.close(True)
            raise BadInput(f"{path} is not a spreadsheet (LibreOffice opened it as another kind of document)")
        doc.calculateAll()  # LibreOffice does not recalculate xlsx files on load
        i, self._next = self._next, self._next + 1
        self.docs[i] = doc
        return i

    def sheet_names(self, doc):
        return list(self.docs[doc].Sheets.getElementNames())

    def names(self, doc, sheet):
        ranges = self._sheet(doc, sheet).NamedRanges
        out = {}
        for name in ranges.getElementNames():
            content = ranges.getByName(name).getContent()
            out[name] = content.split(".")[-1] if "." in content else content  # '$adam.$C$1' -> '$C$1'
        return out

    def get(self, doc, sheet, ref):
        """getDataArray (errors come back as None) plus the error code of each error cell."""
        rng = self._sheet(doc, sheet).getCellRangeByName(ref)
        rows = [list(r) for r in rng.getDataArray()]
        errors = []
        for i, r in enumerate(rows):
            for j, v in enumerate(r):
                if v is None:
                    errors.append([i, j, rng.getCellByPosition(j, i).getError()])
        return rows, errors

    def formulas(self, doc, sheet):
        """[[row0, col0, rows of formula text], ...] of each block of formula cells (not text)."""
        ranges = self._sheet(doc, sheet).queryContentCells(16)  # CellFlags.FORMULA
        out = []
        for rng in _ranges(ranges):
            a = rng.getRangeAddress()
            out.append([a.StartRow, a.StartColumn, [list(r) for r in rng.getFormulaArray()]])
        return out

    def set(self, doc, sheet, ref, rows):
        self._sheet(doc, sheet).getCellRangeByName(ref).setDataArray(tuple(tuple(r) for r in rows))

    def clear(self, doc, sheet, ref):
        # VALUE | DATETIME | STRING | FORMULA
        self._sheet(doc, sheet).getCellRangeByName(ref).clearContents(1 | 2 | 4 | 16)

    def calculate_all(self, doc):
        self.docs[doc].calculateAll()

    def set_auto_calc(self, doc, on):
        self.docs[doc].enableAutomaticCalculation(bool(on))

    def store(self, doc, path, filter_name):
        url = self._uno.systemPathToFileUrl(os.path.abspath(path))
        try:
            self.docs[doc].storeToURL(url, self._props(FilterName=filter_name, Overwrite=True))
        except Exception as e:
            raise BadInput(f"LibreOffice could not save {path} ({type(e).__name__})") from None

    def close(self, doc):
        d = self.docs.pop(doc, None)
        if d is not None:
            try:
                d.close(True)
            except Exception:
                d.dispose()

    def terminate(self):
        for i in list(self.docs):
            try:
                self.close(i)
            except Exception:
                pass
        try:
            self.desktop.terminate()
        except Exception:
            pass  # the bridge goes away as soffice ends


def _ranges(sheet_cell_ranges):
    return [sheet_cell_ranges.getByIndex(i) for i in range(sheet_cell_ranges.getCount())]


def _serve(pipe):
    """The server: one JSON request per line on stdin, one JSON answer per line on stdout."""
    out = sys.stdout
    sys.stdout = sys.stderr
    try:
        core = _Core(pipe)
    except Exception as e:
        out.write(json.dumps({"e": ["NoConnect", f"cannot connect to soffice: {e}"]}) + "\n")
        out.flush()
        return 1
    out.write(json.dumps({"r": "ready"}) + "\n")
    out.flush()
    for line in sys.stdin:
        req = json.loads(line)
        try:
            r = {"r": getattr(core, req["m"])(*req["a"])}
        except (BadInput, MissingTool) as e:
            r = {"e": [type(e).__name__, str(e)]}
        except Exception as e:
            r = {"e": ["RuntimeError", f"{type(e).__name__}: {e}"]}
        out.write(json.dumps(r) + "\n")
        out.flush()
        if req["m"] == "terminate":
            break
    return 0


class _Remote:
    """_Core's calls forwarded to the server under the system Python."""

    def __init__(self, pipe, python):
        self.proc = subprocess.Popen([python, os.path.abspath(__file__), "--serve", pipe],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     start_new_session=True)
        self._answer()

    def _answer(self):
        line = self.proc.stdout.readline()
        if not line:
            raise MissingTool(f"the UNO helper under {SYSTEM_PYTHON} stopped; is python3-uno installed? ({INSTALL})")
        d = json.loads(line)
        if "e" in d:
            kind, msg = d["e"]
            raise {"BadInput": BadInput, "MissingTool": MissingTool,
                   "NoConnect": ConnectionError}.get(kind, RuntimeError)(msg)
        return d["r"]

    def __getattr__(self, method):
        def call(*args):
            self.proc.stdin.write(json.dumps({"m": method, "a": list(args)}) + "\n")
            self.proc.stdin.flush()
            return self._answer()
        return call

    def shutdown(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _uno_in_process():
    """True when `import uno` works here (appending the system's dist-packages if needed)."""
    if os.environ.get("XLOPT_UNO") == "subprocess":
        return False
    try:
        import uno  # noqa: F401
        return True
    except ImportError:
        pass
    for p in UNO_PATHS:
        if os.path.exists(os.path.join(p, "uno.py")) and p not in sys.path:
            sys.path.append(p)
            try:
                import uno  # noqa: F401
                return True
            except ImportError:  # built for another Python version
                sys.path.remove(p)
                for m in ("uno", "pyuno"):
                    sys.modules.pop(m, None)
    return False


def find_soffice():
    for name in ("soffice", "libreoffice"):
        p = shutil.which(name)
        if p:
            return p
    for p in ("/usr/lib/libreoffice/program/soffice", "/opt/libreoffice/program/soffice",
              "/Applications/LibreOffice.app/Contents/MacOS/soffice"):
        if os.path.exists(p):
            return p
    raise MissingTool(f"LibreOffice is not installed (no soffice on PATH): {INSTALL}")


# --- the public API -------------------------------------------------------------------------------
class LibreOffice:
    """A private soffice for the life of a `with` block."""

    def __init__(self, timeout_s=START_TIMEOUT_S):
        self.timeout_s = timeout_s
        self.proc = self.core = self._remote = self.profile = None
        self._docs = []

    def __enter__(self):
        try:
            self._start()
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(self, *exc):
        self._stop()
        return False

    def _start(self):
        soffice = find_soffice()
        in_process = _uno_in_process()
        if not in_process and not _system_python_has_uno():
            raise MissingTool(f"LibreOffice's Python bridge (uno) is not installed: {INSTALL}")
        self.profile = tempfile.mkdtemp(prefix="xlopt-lo-")
        _write_profile(self.profile)
        pipe = f"xlopt_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        profile_url = "file://" + os.path.abspath(self.profile).replace(os.sep, "/")
        self.proc = subprocess.Popen(
            [soffice, "--headless", "--invisible", "--nologo", "--norestore", "--nodefault",
             "--nolockcheck", f"-env:UserInstallation={profile_url}",
             f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)  # its own process group: we end it, Ctrl-C in the terminal does not
        deadline = time.monotonic() + self.timeout_s
        while True:
            try:
                if in_process:
                    self.core = _Core(pipe)
                else:
                    self._remote = self.core = _Remote(pipe, SYSTEM_PYTHON)
                return
            except (BadInput, MissingTool):
                raise
            except Exception as e:  # NoConnectException until soffice listens
                if self._remote is not None:
                    self._remote.shutdown()
                    self._remote = self.core = None
                if self.proc.poll() is not None:
                    raise MissingTool(f"soffice exited with code {self.proc.returncode} before accepting a "
                                      f"connection; check the installation ({INSTALL})") from None
                if time.monotonic() > deadline:
                    raise MissingTool(f"soffice did not accept a connection within {self.timeout_s} s ({e})") from None
                time.sleep(0.1 if in_process else 0.3)

    def _stop(self):
        old = None
        try:  # a second Ctrl-C must not leave soffice behind
            old = signal.signal(signal.SIGINT, signal.SIG_IGN)
        except ValueError:
            pass  # not the main thread
        try:
            if self.core is not None:
                try:
                    self.core.terminate()
                except Exception:
                    pass
            if self._remote is not None:
                self._remote.shutdown()
            if self.proc is not None:
                _kill_group(self.proc)
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    pass
            if self.profile is not None:
                shutil.rmtree(self.profile, ignore_errors=True)
        finally:
            self.core = self._remote = self.proc = self.profile = None
            if old is not None:
                signal.signal(signal.SIGINT, old)

    def load(self, path) -> "Doc":
        if self.core is None:
            raise RuntimeError("LibreOffice is not running: use it in a `with` block")
        path = os.path.abspath(path)
        if not os.path.isfile(path):
            raise BadInput(f"{path} does not exist" if not os.path.exists(path) else f"{path} is not a file")
        if not os.access(path, os.R_OK):
            raise BadInput(f"cannot read {path}: permission denied")
        doc = Doc(self.core, self.core.load(path), path)
        self._docs.append(doc)
        return doc


# The private profile: no lock files (a .~lock left by a killed run makes every later load fail
# silently) and recalculate xlsx files on load (files opened by hand from this profile agree too).
PROFILE_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseDocumentOOoLockFile" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseDocumentSystemFileLocking" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def _write_profile(folder):
    os.makedirs(os.path.join(folder, "user"))
    with open(os.path.join(folder, "user", "registrymodifications.xcu"), "w", encoding="utf-8") as f:
        f.write(PROFILE_XCU)


def _system_python_has_uno():
    if not os.path.exists(SYSTEM_PYTHON):
        return False
    r = subprocess.run([SYSTEM_PYTHON, "-c", "import uno"], capture_output=True)
    return r.returncode == 0


def _kill_group(proc, grace_s=0.5):
    """End whatever is left of soffice's process group (the wrapper, oosplash, soffice.bin).

    After desktop.terminate() soffice.bin takes a second or two to wind down a profile we delete
    anyway: give it `grace_s`, then SIGTERM (documents are closed by then), then SIGKILL.
    """
    for sig, wait_s in ((None, grace_s), (signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        if sig is not None:
            try:
                os.killpg(proc.pid, sig)
            except (ProcessLookupError, PermissionError):
                return
        end = time.monotonic() + wait_s
        while time.monotonic() < end:
            if not _group_alive(proc):
                return
            time.sleep(0.02)


def _group_alive(proc):
    """Does any live (not zombie) process remain in soffice's process group?"""
    proc.poll()  # reap our own child
    if os.path.isdir("/proc/self"):  # Linux: zombies (gpg helpers left to init) do not count
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == proc.pid and fields[0] != b"Z":
                return True
        return False
    try:
        os.killpg(proc.pid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


class Doc:
    """One loaded workbook. References are A1 cells/ranges or the sheet's defined names."""

    def __init__(self, core, handle, path):
        self._core, self._h, self.path = core, handle, path
        self._names = {}

    def sheet_names(self):
        return self._core.sheet_names(self._h)

    def names(self, sheet):
        if sheet not in self._names:
            self._names[sheet] = self._core.names(self._h, sheet)
        return dict(self._names[sheet])

    def _resolve(self, sheet, ref_or_name):
        names = self.names(sheet)
        if ref_or_name in names:
            ref = names[ref_or_name]
        elif is_cell(ref_or_name):
            ref = ref_or_name
        else:
            raise BadInput(f"sheet {sheet!r} has no defined name {ref_or_name!r}")
        return ref, parse_ref(ref), (ref_or_name if ref_or_name in names else None)

    def read_raw(self, sheet, ref_or_name):
        """Rows of cells as LibreOffice has them: float, str ('' = empty) or ('error', text)."""
        ref, _, _ = self._resolve(sheet, ref_or_name)
        rows, errors = self._core.get(self._h, sheet, ref)
        for i, j, code in errors:
            rows[i][j] = ("error", ERRORS.get(code, f"Err:{code}"))
        return rows

    def read(self, sheet, ref_or_name):
        ref, (r0, c0, r1, c1), what = self._resolve(sheet, ref_or_name)
        rows = self.read_raw(sheet, ref)
        flat = []
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                flat.append(_number(v, sheet, cell_name(r0 + i, c0 + j), what))
        return flat[0] if len(flat) == 1 else flat

    def write(self, sheet, ref_or_name, value):
        ref, (r0, c0, r1, c1), what = self._resolve(sheet, ref_or_name)
        width, height = c1 - c0 + 1, r1 - r0 + 1
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if len(values) != width * height:
            raise BadInput(f"sheet {sheet!r} {what or ref}: {len(values)} values for {width * height} cells")
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float, str)):
                raise BadInput(f"sheet {sheet!r} {what or ref}: cannot write {v!r}")
        rows = [[float(v) if not isinstance(v, str) else v for v in values[i * width:(i + 1) * width]]
                for i in range(height)]
        self._core.set(self._h, sheet, ref, rows)

    def clear(self, sheet, ref_or_name):
        ref, _, _ = self._resolve(sheet, ref_or_name)
        self._core.clear(self._h, sheet, ref)

    def formulas(self, sheet):
        """{'E4': '=C4+D4*A4', ...}: every formula cell of the sheet's used area."""
        return {cell_name(r0 + i, c0 + j): f for r0, c0, rows in self._core.formulas(self._h, sheet)
                for i, row in enumerate(rows) for j, f in enumerate(row) if f.startswith("=")}

    def calculate_all(self):
        self._core.calculate_all(self._h)

    def set_auto_calc(self, on: bool):
        self._core.set_auto_calc(self._h, bool(on))

    def save(self, path):
        path = os.path.abspath(path)
        suffix = os.path.splitext(path)[1].lower()
        if suffix not in FILTERS:
            raise BadInput(f"cannot save {path}: the name must end in {', '.join(FILTERS)}")
        folder = os.path.dirname(path)
        if not os.path.isdir(folder):
            raise BadInput(f"cannot save {path}: folder {folder} does not exist")
        with replacing(path, keep_suffix=True) as tmp:
            self._core.store(self._h, tmp, FILTERS[suffix])

    def close(self):
        self._core.close(self._h)


def _number(v, sheet, cell, name):
    if isinstance(v, float):
        return v
    where = f"sheet {sheet!r} cell {cell}" + (f" ({name})" if name else "")
    if isinstance(v, tuple):
        raise BadInput(f"{where} shows the error {v[1]}, not a number")
    if v == "":
        raise BadInput(f"{where} is empty; it must hold a number")
    raise BadInput(f"{where} holds the text {v!r}, not a number")


def finite(v):
    return isinstance(v, float) and math.isfinite(v)


# --- xlopt.buttons' book over one sheet -----------------------------------------------------------
LOG_KEYS = ("epoch", "rmse", "const", "slope", "lr")


class UnoBook:
    """The book interface of `xlopt.buttons` (see engine.MemoryBook) over one sheet of a Doc."""

    def __init__(self, doc, sheet):
        from xlopt.macros import fallback_refs
        if sheet not in doc.sheet_names():
            raise BadInput(f"the workbook has no sheet {sheet!r}; it has {', '.join(doc.sheet_names())}")
        self.doc, self.name = doc, sheet
        self._names = doc.names(sheet)
        # the lesson's own workbook names fewer cells (basic's lr, the betas, the data): take those
        # from its layout; and where a sheet has no log names, keep its log in memory
        self._fallback = fallback_refs(self._names, sheet)
        self._names.update(self._fallback)
        self._memory_log = None if (self.has("epochlog") or self.has("rmses")) else []
        self._auto = True

    def has(self, name):
        return name in self._names

    def _need(self, name):
        if name not in self._names:
            raise BadInput(f"sheet {self.name!r} has no name {name!r}")

    def address(self, name):
        """The cell(s) behind a name, e.g. 'D2' or 'J32:K32', for messages that name the cell."""
        self._need(name)
        return self._names[name].replace("$", "")

    def get(self, name):
        self._need(name)
        if name not in self._fallback:
            return self.doc.read(self.name, name)
        cell = self.address(name)
        try:
            return self.doc.read(self.name, cell)
        except BadInput as e:  # name the cell as the layout names it
            raise BadInput(re.sub(rf"cell ({cell.split(':')[0]}|\w+\d+)\b", rf"cell \1 ({name})", str(e), count=1)) from None

    def set(self, name, value):
        self._need(name)
        self.doc.write(self.name, self.address(name) if name in self._fallback else name, value)

    def calculate(self):
        self.doc.calculate_all()

    @contextmanager
    def manual(self):
        old = self._auto
        if old:
            self.doc.set_auto_calc(False)
            self._auto = False
        try:
            yield self
        finally:
            if old:
                self.doc.set_auto_calc(True)
                self._auto = True
                self.doc.calculate_all()

    def _block(self):
        """(first data row, last data row, columns to check, last row to read, summary cells), 0-based."""
        from xlopt import buttons, sheets
        sheet = sheets.BY_NAME.get(self.name) or sheets.get(buttons.kind_of(self))
        r0, _, r1, _ = parse_ref(self._names["data_x"])
        cols = sorted({2, 3} | {col_index(c.letter) for c in sheet.columns})
        summary_cells = [parse_ref(self._names[sm.key])[:2] for sm in sheet.summaries if sm.key in self._names]
        bottom = max([r1] + [r for r, _ in summary_cells])
        return r0, r1, cols, bottom, summary_cells

    def _first_bad(self):
        """(1-based data row, cell) of the first cell of the pass that is not a finite number (one read)."""
        r0, r1, cols, bottom, summary_cells = self._block()
        rows = self.doc.read_raw(self.name, f"{col_letters(cols[0])}{r0 + 1}:{col_letters(cols[-1])}{bottom + 1}")
        spots = [(r, c) for r in range(r0, r1 + 1) for c in cols] + summary_cells
        for r, c in spots:
            if not finite(rows[r - r0][c - cols[0]]):
                return min(r, r1) - r0 + 1, f"{col_letters(c)}{r + 1}"
        return None, None

    def first_bad_row(self):
        return self._first_bad()[0]

    def first_bad_cell(self):
        """The first cell of the pass that is not a finite number, e.g. 'G10'."""
        return self._first_bad()[1]

    def read_log(self):
        if self._memory_log is not None:
            return [dict(e) for e in self._memory_log]
        if self.has("epochlog"):
            out = []
            for row in self.doc.read_raw(self.name, "epochlog"):
                if not finite(row[0]):
                    break
                e = {k: (v if finite(v) else math.nan) for k, v in zip(LOG_KEYS, row)}
                e["epoch"] = int(e["epoch"])
                out.append(e)
            return out
        out = []
        for i, row in enumerate(self.doc.read_raw(self.name, "rmses")):
            if not finite(row[0]):
                break
            out.append({"epoch": i + 1, "rmse": row[0]})  # the lesson's basic: rmse only
        return out

    def write_log(self, entries):
        if self._memory_log is not None:
            self._memory_log = [dict(e) for e in entries]
            return
        key = "epochlog" if self.has("epochlog") else "rmses"
        self._need(key)
        r0, c0, r1, c1 = parse_ref(self._names[key])
        if key == "rmses":  # the lesson's basic sheet logs rmse only, from the first epoch
            entries = [e for e in entries if e["epoch"] >= 1]
        if len(entries) > r1 - r0 + 1:
            entries = entries[:1] + entries[-(r1 - r0):] if key == "epochlog" else entries[-(r1 - r0 + 1):]
        self.doc.clear(self.name, key)
        if entries:
            cols = LOG_KEYS if key == "epochlog" else ("rmse",)
            rows = [[float(e[k]) for k in cols] for e in entries]
            ref = f"{col_letters(c0)}{r0 + 1}:{col_letters(c1)}{r0 + len(rows)}"
            self.doc._core.set(self.doc._h, self.name, ref, rows)


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--serve":
    sys.exit(_serve(sys.argv[2]))
