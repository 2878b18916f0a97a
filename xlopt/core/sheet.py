"""What a sheet definition holds: everything specific to one optimizer sheet, as data.

A `Sheet` drives every consumer: the engine (evaluate the columns in order on floats), the workbook
(evaluate them on symbols and print formulas), the buttons (names, the Reset plan, the per-epoch
hook), the checks (which columns and names a workbook's sheet has), torch_side (which optimizer,
with which keywords, reproduces it) and the instructions sheet. Rows: 3 holds the state pasted at
the top of an epoch, data starts at row 4, the row after the data holds the summaries and targets.
"""
import re
from dataclasses import dataclass, field

from xlopt.core import names as excel_names

FIRST_ROW = 4
LOG_ROWS = 500  # epochs the sheet's log keeps (the lesson's own rmses is C38:C106); Run keeps the latest
KIND_NAME = "sheetkind"  # the sheet-scoped name a built workbook carries: ="adam"
BETAS = ("mom", "sqr_mom", "beta2")  # the hyper-parameters that are betas: each must be in [0, 1)


@dataclass(frozen=True)
class Column:
    key: str
    letter: str
    title: str
    fn: object  # env -> value; env holds x, y, b, a, the hyper-parameters and earlier columns


@dataclass(frozen=True)
class Summary:
    key: str
    letter: str
    fn: object  # env -> value; env holds each column as a whole (list or symbol) and the inputs
    row_offset: int = 0  # 0: the summary row (33 for 29 data rows); 1: the row below it


@dataclass(frozen=True)
class Target:
    """Carried state: Run copies the last row's values (`last`) here; row 3 reads them back."""
    name: str     # 'momtarget'
    last: str     # 'momlast': the last data row's cells of the same state columns
    keys: tuple   # the state columns, b's then a's: ('m_b', 'm_a')
    reset: object  # what Reset writes (and what a new workbook holds): a number for every key, one
    #                number per key (a tuple), or START: the problem's starting point (b's, a's)

    def values(self):
        """What Reset writes, one value per key."""
        return [float(v) for v in self.reset] if isinstance(self.reset, tuple) else [float(self.reset)] * len(self.keys)


START = "start"  # Target.reset: the problem's starting point (schedfree's z and x start there)


@dataclass(frozen=True)
class Extra:
    """A value cell that is neither the top, lr nor a β: read by a summary, written by a button."""
    name: str
    cell: str
    default: float
    title: str


@dataclass(frozen=True)
class Display:
    """A formula cell shown for the reader (K1 = 1 − β): nothing reads it."""
    address: str
    key: str
    fn: object    # env of the hyper-parameter symbols -> expression
    note: tuple = ()  # (address, text) of a note beside it


@dataclass(frozen=True)
class Reset:
    """The Reset button as data: top values and targets to their reset values, lr typed if given,
    one calculation, then `times` rounds of warm-up copies. Each group of (source, target) pairs is
    copied from one calculation; `mode` 'auto' recalculates after every group (the lesson's
    automatic calculation), 'manual' once per round."""
    lr: object = None       # float, or None: lr untouched
    warmup: tuple = ()      # groups of (source, target) pairs
    times: int = 0
    mode: str = "manual"


@dataclass(frozen=True)
class TorchSpec:
    """The torch_side optimizer that reproduces the sheet, as plain data (the core never imports torch).

    `cls` names a class in torch_side.optim; `inputs` maps a keyword to the sheet input (or tuple
    of inputs) it takes; `fixed` holds constant keywords; `seeds` maps the optimizer's state key to
    the target that seeds it; `compare` is the name torch-side compare offers it under, with
    `compare_lr` its peak learning rate on the lesson's ResNets and `compare_kwargs` the settings
    those comparisons were tuned with where they differ from PyTorch's defaults."""
    cls: str
    inputs: dict
    fixed: dict = field(default_factory=dict)
    seeds: dict = field(default_factory=dict)
    compare: object = None
    compare_lr: object = None
    compare_kwargs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Lesson:
    """How the sheet looks in the lesson's own graddesc.xlsm, which names no sheet's kind:
    recognised by these valid names, its formula columns are `columns` (first, last letter)."""
    names: tuple
    columns: tuple


@dataclass(frozen=True)
class Optimizer:
    """An optimizer as a sheet shows it: its hyper-parameters, state and update columns, its Reset
    plan and Run hook, and the torch optimizer that reproduces it; `xlopt.core.compose` puts it
    beside a problem's columns (`xlopt.core.problem`) to make a Sheet.

    Letters are those the lesson's layout gives (the problem's gradient columns in E-G, or in E-L
    when `estimate` shows the finite differences first, as basic does); on a problem with another
    number of leading columns every letter right of them moves by the difference. A summary's letter
    may name a column instead ('@g_b'). `step`: 'gradient' when a step is lr times a gradient (its
    lr depends on the problem's scale), 'scaled' when the gradient's size is divided out."""
    name: str
    position: int
    lr_cell: str
    lr_default: float
    hyper: dict
    columns: tuple          # the optimizer's own columns, in evaluation order
    state: dict = field(default_factory=dict)
    targets: tuple = ()
    summaries: tuple = ()
    extras: tuple = ()
    display: tuple = ()
    reset: Reset = Reset()
    after_epoch: object = None
    instructions: str = ""
    watch: str = ""
    try_this: tuple = ()
    torch: object = None
    lesson: object = None
    new_b: str = "new_b"
    new_a: str = "new_a"
    estimate: bool = False  # the problem's finite-difference estimates lead (basic)
    problem_at: str = ""    # where the problem's trailing columns start ('' : right after the last column)
    step: str = "scaled"


@dataclass(frozen=True)
class Sheet:
    name: str
    position: int           # where the sheet sits in the workbook (the lesson's five first)
    lr_cell: str            # address in row 1-2, e.g. 'D2'
    lr_default: float
    hyper: dict             # name -> (cell, default), e.g. {'mom': ('J1', 0.9)}
    columns: tuple          # in evaluation order (a column may be evaluated before one left of it)
    state: dict = field(default_factory=dict)   # carried state key -> column letter (J, K, …)
    targets: tuple = ()     # Target, ...
    summaries: tuple = ()
    extras: tuple = ()      # Extra, ...
    display: tuple = ()     # Display, ...
    reset: Reset = Reset()
    after_epoch: object = None  # Run's per-epoch hook: book -> None (adam_ann's annealer)
    instructions: str = ""
    watch: str = ""         # the panel's one-line hint of what to look at (default: the instructions' first sentence)
    try_this: tuple = ()    # "try this" prompts for the instructions sheet
    torch: object = None    # TorchSpec
    lesson: object = None   # Lesson, for the five sheets of the lesson's own workbook
    new_b: str = "new_b"
    new_a: str = "new_a"
    rmse_key: str = "rmse"
    problem: object = None  # the xlopt.core.problem.Problem it minimises
    start: tuple = (1.0, 1.0)  # where Reset puts const and slope (the problem's starting point)

    def __post_init__(self):
        """A definition whose names Excel would refuse (read as a cell, say) fails to import."""
        excel_names.check([*self.names(1), KIND_NAME], f"sheet definition {self.name!r}")

    # --- what the buttons touch ------------------------------------------------------------------
    @property
    def written(self):
        """Every name a button may write (and restore when a press fails)."""
        out = ["const", "slope"]
        if self.reset.lr is not None or self.after_epoch is not None:
            out.append("lr")
        out += [t.name for t in self.targets] + [e.name for e in self.extras]
        return tuple(out)

    @property
    def reset_restores(self):
        """The names Reset writes whatever they held, so a bad value there is what Reset is for:
        the top, the targets, and lr (a sheet whose Reset leaves lr alone types its default lr
        when the cell holds no usable number)."""
        return ("const", "slope", "lr") + tuple(t.name for t in self.targets)

    def target(self, name):
        for t in self.targets:
            if t.name == name:
                return t
        raise KeyError(name)

    # --- addresses ---------------------------------------------------------------------------
    def rows(self, n):
        """(first data row, last data row, summary row) for n data rows."""
        return FIRST_ROW, FIRST_ROW + n - 1, FIRST_ROW + n

    def letter(self, key):
        for c in self.columns:
            if c.key == key:
                return c.letter
        raise KeyError(key)

    def column_letters(self):
        """A, B, C, D and every computed column, in sheet order."""
        return sorted({"A", "B", "C", "D"} | {c.letter for c in self.columns}, key=lambda s: (len(s), s))

    def log_rows(self, n):
        """(header row, reset row, first epoch row, last epoch row) of the rmse/const/slope log."""
        s = FIRST_ROW + n
        return s + 3, s + 4, s + 5, s + 4 + LOG_ROWS

    def names(self, n):
        """Every sheet-scoped defined name -> A1 range (no sheet prefix, absolute)."""
        first, last, s = self.rows(n)
        d = {"const": "C1", "slope": "C2", "lr": self.lr_cell,
             "lastconst": f"C{last}", "lastslope": f"D{last}",
             "lastnewconst": f"{self.letter(self.new_b)}{last}",
             "lastnewslope": f"{self.letter(self.new_a)}{last}",
             "data_x": f"A{first}:A{last}", "data_y": f"B{first}:B{last}"}
        for name, (cell, _) in self.hyper.items():
            d[name] = cell
        for t in self.targets:
            l0, l1 = self.state[t.keys[0]], self.state[t.keys[-1]]
            d[t.name] = f"{l0}{s}:{l1}{s}"
            d[t.last] = f"{l0}{last}:{l1}{last}"
        for sm in self.summaries:
            d[sm.key] = f"{sm.letter}{s + sm.row_offset}"
        for e in self.extras:
            d[e.name] = e.cell
        head, reset, e0, e1 = self.log_rows(n)
        d["rmsestart"] = f"C{head}"
        d["rmses"] = f"C{e0}:C{e1}"
        d["epochlog"] = f"B{reset}:F{e1}"  # epoch, rmse, const, slope, lr; first row = the Reset
        return {k: absolute(v) for k, v in d.items()}


def absolute(ref):
    return ":".join(re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", p) for p in ref.split(":"))
