"""One workbook loaded in LibreOffice: read and write cells or defined names, recalculate, save."""
import math
import os

from xlopt.core.atomic import replacing
from xlopt.core.cells import cell_name, is_cell, parse_ref
from xlopt.core.errors import BadInput

FILTERS = {".xlsx": "Calc MS Excel 2007 XML", ".xlsm": "Calc MS Excel 2007 VBA XML", ".ods": "calc8"}
# LibreOffice's error codes as a person sees them
ERRORS = {501: "Err:501 (invalid character)", 502: "Err:502 (invalid argument)", 503: "#NUM!",
          504: "Err:504 (parameter list)", 507: "Err:507 (missing pair)", 508: "Err:508 (missing bracket)",
          511: "Err:511 (missing variable)", 518: "Err:518 (missing variable)", 519: "#VALUE!",
          522: "Err:522 (circular reference)", 523: "Err:523 (no convergence)", 524: "#REF!",
          525: "#NAME?", 532: "#DIV/0!", 32767: "#NULL!"}


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
