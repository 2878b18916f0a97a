"""The five graddesc sheets: which rule fills which column, and where every named cell lives.

One `Sheet` drives the engine (evaluate the columns in order on floats), the workbook (evaluate them
on symbols and print formulas) and the macros (defined names). Rows: 3 holds the state pasted at the
top of an epoch, data starts at row 4, the row after the data holds the summaries and targets.
"""
from dataclasses import dataclass, field

from xlopt.core import rules
from xlopt.core.errors import BadInput
from xlopt.core.expr import colsum, colsumsq, sqrt

FIRST_ROW = 4
SHEETS = ("basic", "momentum", "rmsprop", "adam", "adam_ann")
LESSON_X = (14, 86, 28, 51, 28, 29, 72, 62, 84, 15, 42, 62, 47, 35, 9, 38, 44, 99, 13, 21, 28, 20, 8,
            64, 99, 70, 27, 17, 8)
TRUE_B, TRUE_A = 30, 2
LOG_ROWS = 69  # epochs the sheet's log shows (the lesson's rmses is C38:C106)


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
class Sheet:
    name: str
    lr_cell: str            # address in row 1-2, e.g. 'D2'
    lr_default: float
    hyper: dict             # name -> (cell, default), e.g. {'mom': ('J1', 0.9)}
    columns: tuple          # in evaluation order (a column may be evaluated before one left of it)
    state: dict = field(default_factory=dict)  # carried state key -> column letter (J, K, …)
    targets: dict = field(default_factory=dict)  # target name -> (last-row name, state keys)
    summaries: tuple = ()
    new_b: str = "new_b"
    new_a: str = "new_a"
    rmse_key: str = "rmse"
    anneal: bool = False

    # --- addresses ---------------------------------------------------------------------------
    def rows(self, n):
        """(first data row, last data row, summary row) for n data rows."""
        return FIRST_ROW, FIRST_ROW + n - 1, FIRST_ROW + n

    def letter(self, key):
        for c in self.columns:
            if c.key == key:
                return c.letter
        raise KeyError(key)

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
        for target, (lastname, keys) in self.targets.items():
            l0, l1 = self.state[keys[0]], self.state[keys[1]]
            d[target] = f"{l0}{s}:{l1}{s}"
            d[lastname] = f"{l0}{last}:{l1}{last}"
        for sm in self.summaries:
            d[sm.key] = f"{sm.letter}{s + sm.row_offset}"
        if self.anneal:
            d["prev_grad2"] = "N3"
        head, reset, e0, e1 = self.log_rows(n)
        d["rmsestart"] = f"C{head}"
        d["rmses"] = f"C{e0}:C{e1}"
        d["epochlog"] = f"B{reset}:F{e1}"  # epoch, rmse, const, slope, lr; first row = the Reset
        return {k: _absolute(v) for k, v in d.items()}


def _absolute(ref):
    import re
    return ":".join(re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", p) for p in ref.split(":"))


# --- the sheets -------------------------------------------------------------------------------
def _grads():
    return (
        Column("pred", "E", "pred", lambda e: rules.predict(e["a"], e["b"], e["x"])),
        Column("g_b", "F", "de/db", lambda e: rules.grad_b(e["a"], e["b"], e["x"], e["y"])),
        Column("g_a", "G", "de/da", lambda e: rules.grad_a(e["g_b"], e["x"])),
    )


def _err(letter):
    return Column("err2", letter, "err^2", lambda e: rules.sq_err(e["y"], e["pred"]))


def _rmse(letter):
    return Summary("rmse", letter, lambda e: sqrt(colsum(e["err2"])))


BASIC = Sheet(
    "basic", "F1", 0.0001, {},
    columns=(
        Column("pred", "E", "y_pred", lambda e: rules.predict(e["a"], e["b"], e["x"])),
        Column("err2", "F", "err^2", lambda e: rules.sq_err(e["y"], e["pred"])),
        Column("errb1", "G", "errb1", lambda e: rules.err_b_shifted(e["a"], e["b"], e["x"], e["y"])),
        Column("est_db", "H", "est de/db", lambda e: rules.finite_diff(e["errb1"], e["err2"])),
        Column("erra1", "I", "erra1", lambda e: rules.err_a_shifted(e["a"], e["b"], e["x"], e["y"])),
        Column("est_da", "J", "est de/da", lambda e: rules.finite_diff(e["erra1"], e["err2"])),
        Column("g_b", "K", "de/db", lambda e: rules.grad_b_of_pred(e["pred"], e["y"])),
        Column("g_a", "L", "de/da", lambda e: rules.grad_a(e["g_b"], e["x"])),
        Column("new_a", "M", "new a", lambda e: rules.sgd_step(e["a"], e["g_a"], e["lr"])),
        Column("new_b", "N", "new b", lambda e: rules.sgd_step(e["b"], e["g_b"], e["lr"])),
    ),
    summaries=(
        _rmse("F"),
        Summary("grad_b_norm", "K", lambda e: sqrt(colsumsq(e["g_b"]))),
        Summary("grad_a_norm", "L", lambda e: sqrt(colsumsq(e["g_a"]))),
    ),
)

MOMENTUM = Sheet(
    "momentum", "D2", 0.0001, {"mom": ("J1", 0.9)},
    columns=_grads() + (
        Column("m_b", "J", "mom b", lambda e: rules.ewma(e["m_b"], e["g_b"], e["mom"])),
        Column("m_a", "K", "mom a", lambda e: rules.ewma(e["m_a"], e["g_a"], e["mom"])),
        Column("new_b", "H", "new b", lambda e: rules.sgd_step(e["b"], e["m_b"], e["lr"])),
        Column("new_a", "I", "new a", lambda e: rules.sgd_step(e["a"], e["m_a"], e["lr"])),
        _err("L"),
    ),
    state={"m_b": "J", "m_a": "K"},
    targets={"momtarget": ("momlast", ("m_b", "m_a"))},
    summaries=(_rmse("L"),),
)

RMSPROP = Sheet(
    "rmsprop", "D2", 0.02, {"sqr_mom": ("J1", 0.9)},
    columns=_grads() + (
        # the step divides by the previous row's average: evaluated before s is updated
        Column("new_b", "H", "new b", lambda e: rules.scaled_step(e["b"], e["g_b"], e["lr"], e["s_b"])),
        Column("new_a", "I", "new a", lambda e: rules.scaled_step(e["a"], e["g_a"], e["lr"], e["s_a"])),
        Column("s_b", "J", "avg g_b^2", lambda e: rules.ewma(e["s_b"], e["g_b"] ** 2, e["sqr_mom"])),
        Column("s_a", "K", "avg g_a^2", lambda e: rules.ewma(e["s_a"], e["g_a"] ** 2, e["sqr_mom"])),
        _err("L"),
    ),
    state={"s_b": "J", "s_a": "K"},
    targets={"gradtarget": ("ms_last", ("s_b", "s_a"))},
    summaries=(_rmse("L"),),
)


def _adam_columns(err_letter):
    return _grads() + (
        Column("m_b", "J", "mom b", lambda e: rules.ewma(e["m_b"], e["g_b"], e["mom"])),
        Column("m_a", "K", "mom a", lambda e: rules.ewma(e["m_a"], e["g_a"], e["mom"])),
        Column("s_b", "L", "avg g_b^2", lambda e: rules.ewma(e["s_b"], e["g_b"] ** 2, e["sqr_mom"])),
        Column("s_a", "M", "avg g_a^2", lambda e: rules.ewma(e["s_a"], e["g_a"] ** 2, e["sqr_mom"])),
        Column("new_b", "H", "new b", lambda e: rules.scaled_step(e["b"], e["m_b"], e["lr"], e["s_b"])),
        Column("new_a", "I", "new a", lambda e: rules.scaled_step(e["a"], e["m_a"], e["lr"], e["s_a"])),
        _err(err_letter),
    )


_ADAM_STATE = {"m_b": "J", "m_a": "K", "s_b": "L", "s_a": "M"}
_ADAM_TARGETS = {"momtarget": ("momlast", ("m_b", "m_a")), "gradtarget": ("ms_last", ("s_b", "s_a"))}

ADAM = Sheet(
    "adam", "D2", 1.0, {"mom": ("J1", 0.9), "sqr_mom": ("L1", 0.9)},
    columns=_adam_columns("N"), state=_ADAM_STATE, targets=_ADAM_TARGETS,
    summaries=(_rmse("N"),),
)

ADAM_ANN = Sheet(
    "adam_ann", "D2", 1.0, {"mom": ("J1", 0.9), "sqr_mom": ("L1", 0.95)},
    columns=_adam_columns("O"), state=_ADAM_STATE, targets=_ADAM_TARGETS,
    summaries=(
        _rmse("O"),
        # from the pasted squared averages (the targets), not from the pass
        Summary("avg_grad2", "N", lambda e: rules.avg_grad2(e["gradtarget"][0], e["gradtarget"][1])),
        Summary("gradrat", "N", lambda e: rules.gradrat(e["avg_grad2"], e["prev_grad2"]), row_offset=1),
    ),
    anneal=True,
)

BY_NAME = {s.name: s for s in (BASIC, MOMENTUM, RMSPROP, ADAM, ADAM_ANN)}


def get(name):
    try:
        return BY_NAME[name]
    except KeyError:
        raise BadInput(f"unknown sheet {name!r}: choose one of {', '.join(SHEETS)}") from None
