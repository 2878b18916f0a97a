"""The UNO calls, with plain Python values in and out: in this process, or in a small server.

python3-uno is built for the system's /usr/bin/python3. When this Python can import it, `Core` runs
in process; otherwise `Remote` forwards the same calls to this file run under /usr/bin/python3, one
JSON line each way. Every call is one round trip; whole ranges are read with getDataArray and
written with setDataArray, so an epoch costs the same few trips for any number of rows.
"""
import builtins
import json
import os
import subprocess
import sys

if __package__ in (None, ""):  # run as a script: the server under /usr/bin/python3
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
from xlopt.core.errors import BadInput, MissingTool  # noqa: E402

INSTALL = "apt-get install libreoffice-calc-nogui python3-uno"
UNO_PATHS = ("/usr/lib/python3/dist-packages", "/usr/lib/libreoffice/program",
             "/opt/libreoffice/program")
SYSTEM_PYTHON = "/usr/bin/python3"


def _import_uno():
    """`import uno`, without its import hook: uno replaces builtins.__import__ with one that turns every
    ModuleNotFoundError into a plain ImportError (so it can try the name as a UNO type), which breaks
    any library that catches ModuleNotFoundError for an optional module (torch's Inductor does, and
    failed to compile in a process that had talked to LibreOffice). UNO types are looked up with
    uno.getClass instead of `from com.sun.star... import`."""
    import uno
    hook, original = getattr(uno, "_uno_import", None), getattr(uno, "_builtin_import", None)
    if hook is not None and original is not None and builtins.__import__ is hook:
        builtins.__import__ = original
    return uno


class Core:
    """The UNO calls, with plain Python values in and out (JSON-able)."""

    def __init__(self, pipe):
        uno = _import_uno()
        self._uno, self._pv = uno, uno.getClass("com.sun.star.beans.PropertyValue")
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
        ctx = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
        self.desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        self._hold({})

    def _hold(self, docs):
        """Start with these open documents (handle -> document) and no lookups kept yet."""
        self.docs, self._next = dict(docs), max(docs, default=0) + 1
        self._sheets = {}  # (doc, name) -> the sheet object: each lookup is three round trips to soffice
        self._ranges = {}  # (doc, name, ref) -> the cell range: Run reads and writes the same ones each epoch

    def _forget(self, doc):
        """Drop a document and the lookups kept for it; returns the document (None if unknown)."""
        self._sheets = {k: v for k, v in self._sheets.items() if k[0] != doc}
        self._ranges = {k: v for k, v in self._ranges.items() if k[0] != doc}
        return self.docs.pop(doc, None)

    def _props(self, **kw):
        out = []
        for k, v in kw.items():
            p = self._pv()
            p.Name, p.Value = k, v
            out.append(p)
        return tuple(out)

    def _sheet(self, doc, sheet):
        found = self._sheets.get((doc, sheet))
        if found is None:
            sheets = self.docs[doc].Sheets
            if not sheets.hasByName(sheet):
                raise BadInput(f"the workbook has no sheet {sheet!r}")
            found = self._sheets[doc, sheet] = sheets.getByName(sheet)
        return found

    def _range(self, doc, sheet, ref):
        found = self._ranges.get((doc, sheet, ref))
        if found is None:
            found = self._ranges[doc, sheet, ref] = self._sheet(doc, sheet).getCellRangeByName(ref)
        return found

    def load(self, path):
        url = self._uno.systemPathToFileUrl(os.path.abspath(path))
        try:
            doc = self.desktop.loadComponentFromURL(url, "_blank", 0, self._props(Hidden=True, MacroExecutionMode=0))
        except Exception as e:  # IllegalArgumentException, IOException: LibreOffice could not read it
            if _bridge_gone(e):
                raise
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
        rng = self._range(doc, sheet, ref)
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
        self._range(doc, sheet, ref).setDataArray(tuple(tuple(r) for r in rows))

    def clear(self, doc, sheet, ref):
        # VALUE | DATETIME | STRING | FORMULA
        self._range(doc, sheet, ref).clearContents(1 | 2 | 4 | 16)

    def calculate_all(self, doc):
        self.docs[doc].calculateAll()

    def set_auto_calc(self, doc, on):
        self.docs[doc].enableAutomaticCalculation(bool(on))

    def store(self, doc, path, filter_name):
        url = self._uno.systemPathToFileUrl(os.path.abspath(path))
        try:
            self.docs[doc].storeToURL(url, self._props(FilterName=filter_name, Overwrite=True))
        except Exception as e:
            if _bridge_gone(e):
                raise
            raise BadInput(f"LibreOffice could not save {path} ({type(e).__name__})") from None

    def close(self, doc):
        d = self._forget(doc)
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


def _bridge_gone(e):
    """soffice ended under the call (the UNO bridge is disposed): not a problem of the file."""
    return type(e).__name__ in ("DisposedException", "RuntimeException")


def _ranges(sheet_cell_ranges):
    return [sheet_cell_ranges.getByIndex(i) for i in range(sheet_cell_ranges.getCount())]


def _serve(pipe):
    """The server: one JSON request per line on stdin, one JSON answer per line on stdout."""
    out = sys.stdout
    sys.stdout = sys.stderr
    try:
        core = Core(pipe)
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


class Remote:
    """Core's calls forwarded to the server under the system Python."""

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


def uno_in_process():
    """True when `import uno` works here (appending the system's dist-packages if needed)."""
    if os.environ.get("XLOPT_UNO") == "subprocess":
        return False
    try:
        _import_uno()
        return True
    except ImportError:
        pass
    for p in UNO_PATHS:
        if os.path.exists(os.path.join(p, "uno.py")) and p not in sys.path:
            sys.path.append(p)
            try:
                _import_uno()
                return True
            except ImportError:  # built for another Python version
                sys.path.remove(p)
                for m in ("uno", "pyuno"):
                    sys.modules.pop(m, None)
    return False


def system_python_has_uno():
    if not os.path.exists(SYSTEM_PYTHON):
        return False
    r = subprocess.run([SYSTEM_PYTHON, "-c", "import uno"], capture_output=True)
    return r.returncode == 0


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--serve":
    sys.exit(_serve(sys.argv[2]))
