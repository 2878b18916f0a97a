"""Read a workbook's sheet back into the engine, and compare every formula cell with it.

`read_sheet` turns one optimizer sheet of a LibreOffice `Doc` into (Sheet, Data, inputs) through
its defined names — the workbook's own data, top values, lr, betas and targets — so
`engine.compute_pass` recomputes what the sheet should show. `check_sheet` then compares each
formula cell LibreOffice recalculated with the engine's value at that address.
"""
import math
from dataclasses import dataclass, field

from xlopt.core import recognise, rules, sheets
from xlopt.core.engine import Data, compute_pass, default_inputs
from xlopt.core.errors import BadInput
from xlopt.writers import paths
from xlopt.writers.excel_formula import sheet_cells
from xlopt.core.cells import cell_name, parse_ref

RTOL = 1e-12
DATA = "data"


def _range_rows(ref):
    r0, c0, r1, c1 = parse_ref(ref)
    return r1 - r0 + 1


def read_sheet(doc, name):
    """(Sheet, Data, inputs) of an optimizer sheet, read through its defined names."""
    if name not in doc.sheet_names():
        raise BadInput(f"the workbook has no sheet {name!r}; it has {', '.join(doc.sheet_names())}")
    refs, consts = recognise.split_names(doc.names(name))
    sheet = recognise.sheet_of(name, refs, consts)
    have = {k: v for k, v in doc.names(name).items() if k not in (sheets.KIND_NAME, sheets.PROBLEM_NAME)}
    if "data_x" not in have:
        raise BadInput(f"sheet {name!r} has no defined name 'data_x'; rebuild the workbook with xlopt build")
    n = _range_rows(have["data_x"])
    want = sheet.names(n)
    for key, ref in want.items():
        if key not in have:
            raise BadInput(f"sheet {name!r} has no defined name {key!r} (it should point at {ref}); "
                           "rebuild the workbook with xlopt build")
        if have[key].replace("$", "") != ref.replace("$", ""):
            raise BadInput(f"sheet {name!r}: the name {key!r} points at {have[key]}, expected {ref}")
    data = Data(doc.read(name, "data_x"), doc.read(name, "data_y"))
    inputs = {}
    for k, default in default_inputs(sheet).items():
        v = doc.read(name, k)
        inputs[k] = [v] if isinstance(default, list) and not isinstance(v, list) else v  # a one-cell target
    return sheet, data, inputs


@dataclass
class Result:
    sheet: str
    checked: int = 0
    max_rel: float = 0.0
    where: str = ""
    problems: list = field(default_factory=list)

    def compare(self, cell, got, want, scale, against_scale=False):
        """One cell: a number within RTOL of the engine (non-finite engine values: an error shown).

        against_scale: measure every difference against the size of the cell's kind (a contour point
        near zero is as exact as its neighbours), not only where one side is 0."""
        self.checked += 1
        if not (isinstance(want, float) and math.isfinite(want)):
            if isinstance(got, float) and math.isfinite(got):
                self.problems.append(f"{self.sheet}!{cell}: shows {got!r}, the engine gets {want!r}")
            return
        if not isinstance(got, float):
            shown = got[1] if isinstance(got, tuple) else ("nothing" if got == "" else repr(got))
            self.problems.append(f"{self.sheet}!{cell}: shows {shown}, the engine gets {want!r}")
            return
        if got == want:
            rel = 0.0
        elif want == 0 or got == 0 or against_scale:  # cancellation: measure against the size of the column's values
            rel = abs(got - want) / max(scale, abs(want), 1e-300)
        else:
            rel = abs(got - want) / max(abs(want), 1e-300)
        if rel >= self.max_rel:
            self.max_rel, self.where = rel, cell
        if not rel <= RTOL:
            self.problems.append(f"{self.sheet}!{cell}: shows {got!r}, the engine gets {want!r} "
                                 f"(relative difference {rel:.3g})")

    @property
    def ok(self):
        return not self.problems


def _values(doc, name, formulas):
    """Address -> value (float, str, ('error', text)) over the block holding every formula, one read."""
    last_r = last_c = 0
    for addr in formulas:
        r, c, _, _ = parse_ref(addr)
        last_r, last_c = max(last_r, r), max(last_c, c)
    rows = doc.read_raw(name, f"A1:{cell_name(last_r, last_c)}")
    return {cell_name(i, j): v for i, row in enumerate(rows) for j, v in enumerate(row)}


def check_sheet(doc, name, true_ba=None):
    """Compare every formula cell of an optimizer sheet with the engine fed with its own inputs."""
    sheet, data, inputs = read_sheet(doc, name)
    p = compute_pass(sheet, data, inputs)
    expected = sheet_cells(sheet, len(data.x), p, inputs,
                           true_ba if true_ba is not None else (math.nan, math.nan), _last_epoch(doc, name))
    result = Result(name)
    formulas = doc.formulas(name)
    if not formulas:
        raise BadInput(f"sheet {name!r} holds no formulas; is it a workbook written by xlopt build?")
    values = _values(doc, name, formulas)
    scale = {}
    for c in expected:
        if isinstance(c.value, float) and math.isfinite(c.value):
            scale[c.what] = max(scale.get(c.what, 0.0), abs(c.value))
    for c in expected:
        if c.address not in formulas:
            result.problems.append(f"{name}!{c.address}: should hold the formula {c.formula} but holds a value")
            continue
        if c.what in ("true_b", "true_a") and true_ba is None:
            continue  # no data sheet to compare with
        result.compare(c.address, values.get(c.address, ""), c.value, scale.get(c.what, 0.0))
    known = {c.address for c in expected}
    for addr in formulas:
        if addr not in known:
            result.problems.append(f"{name}!{addr}: a formula xlopt does not know ({formulas[addr]})")
    return result


def _last_epoch(doc, name):
    """The log's last epoch (what the panel's epoch count shows): the epoch column of `epochlog`."""
    r0, c0, r1, c1 = parse_ref(doc.names(name)["epochlog"].split("!")[-1])
    rows = doc.read_raw(name, f"{cell_name(r0, c0)}:{cell_name(r1, c0)}")
    return max((row[0] for row in rows if isinstance(row[0], float)), default=0.0)


def read_true_ba(doc):
    """The data sheet's true b (C1) and a (C2)."""
    return doc.read(DATA, "C1"), doc.read(DATA, "C2")


def check_data(doc, first_row=5):
    """The data sheet: x = RANDBETWEEN(1,100) must be a whole number in 1..100, y = b + a·x."""
    result = Result(DATA)
    formulas = doc.formulas(DATA)
    b, a = read_true_ba(doc)
    values = _values(doc, DATA, formulas) if formulas else {}
    xs = {}
    for addr in sorted(formulas, key=lambda s: parse_ref(s)[:2]):
        r, c, _, _ = parse_ref(addr)
        if c == 1 and r + 1 >= first_row:
            v = values.get(addr, "")
            result.checked += 1
            if not (isinstance(v, float) and v.is_integer() and 1 <= v <= 100):
                result.problems.append(f"{DATA}!{addr}: x should be a whole number in 1..100 (RANDBETWEEN), shows {v!r}")
            xs[r] = v
    for addr in formulas:
        r, c, _, _ = parse_ref(addr)
        if c == 1 and r + 1 >= first_row:
            continue
        if c == 2 and r in xs and isinstance(xs[r], float):
            want = rules.predict(a, b, xs[r])
            result.compare(addr, values.get(addr, ""), want, abs(want))
        else:
            result.problems.append(f"{DATA}!{addr}: a formula xlopt does not know ({formulas[addr]})")
    return result


def check_paths(doc, true_ba):
    """The paths sheet: geometry, contour points and fitted lines, from the first sheet's data, the
    levels typed in and each sheet's const and slope now, compared against each kind's size. A
    function problem's paths sheet holds no formulas (its contours are fixed numbers): nothing to check."""
    first = sheets.SHEETS[0]
    if read_sheet(doc, first)[0].problem.is_function:
        return Result(paths.NAME)
    x, y = doc.read(first, "data_x"), doc.read(first, "data_y")
    levels = [doc.read(paths.NAME, c) for c in paths.level_cells()]
    tops = {name: (doc.read(name, "const"), doc.read(name, "slope")) for name in sheets.SHEETS}
    expected = paths.cells(x, y, levels, tops, true_ba if true_ba is not None else (math.nan, math.nan))
    result = Result(paths.NAME)
    formulas = doc.formulas(paths.NAME)
    values = _values(doc, paths.NAME, formulas)
    scale = {}
    for c in expected:
        if math.isfinite(c.value):
            scale[c.what] = max(scale.get(c.what, 0.0), abs(c.value))
    scale["geometry_l_star"] = scale.get("geometry_sxy", 0.0)  # the smallest loss: a cancellation of sums this size
    for c in expected:
        if c.address not in formulas:
            result.problems.append(f"{paths.NAME}!{c.address}: should hold the formula {c.formula} but holds a value")
            continue
        result.compare(c.address, values.get(c.address, ""), c.value, scale.get(c.what, 0.0), against_scale=True)
    return result


def check(doc, only=None):
    """Results for the data sheet, every optimizer sheet and the paths sheet where the workbook has
    one (or just `only`)."""
    have = doc.sheet_names()
    wanted = [only] if only else [DATA, *sheets.SHEETS] + ([paths.NAME] if paths.NAME in have else [])
    for name in wanted:
        if name not in (DATA, paths.NAME) and name not in sheets.BY_NAME:
            raise BadInput(f"--sheet {name!r} is not one of the lab's sheets: {DATA}, {', '.join(sheets.SHEETS)}, "
                           f"{paths.NAME}")
        if name not in have:
            raise BadInput(f"the workbook has no sheet {name!r} (it has {', '.join(have)}); "
                           "is it the graddesc workbook written by xlopt build?")
    true_ba = read_true_ba(doc) if DATA in have else None
    out = []
    for name in wanted:
        out.append(check_data(doc) if name == DATA else check_paths(doc, true_ba) if name == paths.NAME
                   else check_sheet(doc, name, true_ba))
    return out
