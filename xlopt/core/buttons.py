"""What the Run and Reset buttons do, written once against a small workbook interface.

A book offers: has(name), get(name), set(name, value), calculate(), manual() (a context in which
writes do not recalculate), first_bad_row(), read_log(), write_log(entries) and `name`. The engine's
MemoryBook, LibreOffice over UNO and Excel over xlwings all implement it, so `xlopt run`, the
headless `xlopt click` and the Excel buttons replay the lesson's macros identically.
"""
import math

from xlopt.core import rules
from xlopt.core.errors import BadInput, Diverged

CARRIES = ("lesson", "full")
EPOCHS_PER_CLICK = 5


def kind_of(book):
    """Which of the lesson's sheets this is, told by the defined names it carries."""
    if book.has("gradrat") and book.has("prev_grad2"):
        return "adam_ann"
    if book.has("ms_last") and book.has("momlast"):
        return "adam"
    if book.has("ms_last"):
        return "rmsprop"
    if book.has("momlast"):
        return "momentum"
    if book.has("rmse") and book.has("lastconst"):
        return "basic"
    raise BadInput(f"sheet {book.name!r} carries none of the lesson's names (const, slope, lr, lastconst, "
                   "momlast, ms_last, rmse ...): select one of the optimizer sheets")


def parse_carry(refers_to, fix):
    """The workbook-scope name `carry`: ="lesson" or ="full"; anything else says how to fix it."""
    value = (refers_to or "").lstrip("=").strip('"')
    if value not in CARRIES:
        raise BadInput(f"the workbook's name carry holds {refers_to!r}; set it to =\"lesson\" or =\"full\"{fix}")
    return value


def _copies(book, carry):
    """(source, target) pairs of one epoch's carry, in the lesson's order."""
    if carry not in CARRIES:
        raise BadInput(f"carry must be one of {', '.join(CARRIES)}, got {carry!r}")
    top = ("lastconst", "lastslope") if carry == "lesson" else ("lastnewconst", "lastnewslope")
    pairs = [(top[0], "const"), (top[1], "slope")]
    for src, dst in (("momlast", "momtarget"), ("ms_last", "gradtarget")):
        if book.has(src):
            pairs.append((src, dst))
    return pairs


def copy_values(book, pairs):
    """Copy as values, every source read from the same calculation before anything is written."""
    with book.manual():
        values = [book.get(src) for src, _ in pairs]
        for (_, dst), v in zip(pairs, values):
            book.set(dst, v)


def _calculate(book, epoch):
    book.calculate()
    row = book.first_bad_row()
    if row is not None:
        raise Diverged(book.name, epoch, row)


def onestep(book, carry="lesson", epoch=0):
    copy_values(book, _copies(book, carry))
    _calculate(book, epoch)


def log_entry(book, epoch):
    return {"epoch": epoch, "rmse": book.get("rmse"), "const": book.get("const"),
            "slope": book.get("slope"), "lr": book.get("lr")}


def run(book, epochs=EPOCHS_PER_CLICK, carry="lesson"):
    """The Run button: `epochs` carries (five per click), annealing on adam_ann, one log row each."""
    if epochs < 1:
        raise BadInput(f"epochs must be at least 1, got {epochs}")
    kind = kind_of(book)
    log = book.read_log()
    epoch = log[-1]["epoch"] if log else 0
    with book.manual():
        for _ in range(epochs):
            epoch += 1
            onestep(book, carry, epoch)
            if kind == "adam_ann":
                anneal(book)
                _calculate(book, epoch)
            log.append(log_entry(book, epoch))
    book.write_log(log)
    return log


def anneal(book):
    """adam_ann: quarter lr when the gradients' size doubled past the best seen; keep the best."""
    avg, prev = book.get("avg_grad2"), book.get("prev_grad2")
    if book.get("gradrat") > rules.ANNEAL_THRESHOLD:
        book.set("lr", rules.annealed_lr(book.get("lr")))
    if avg < prev:
        book.set("prev_grad2", avg)


def reset(book):
    """The Reset button: a = b = 1, the sheet's warm-up passes for its averages, the log restarted."""
    kind = kind_of(book)
    with book.manual():
        book.set("const", 1.0)
        book.set("slope", 1.0)
        if book.has("momtarget"):
            book.set("momtarget", [0.0, 0.0])
        if book.has("gradtarget"):
            book.set("gradtarget", [10000.0, 10000.0])
        if kind == "momentum":
            book.set("lr", 0.0001)
        if kind in ("adam", "adam_ann"):
            book.set("lr", 1.0)
        _calculate(book, 0)
        if kind == "momentum":
            copy_values(book, [("momlast", "momtarget")])
            _calculate(book, 0)
        elif kind == "rmsprop":
            for _ in range(2):
                copy_values(book, [("ms_last", "gradtarget")])
                _calculate(book, 0)
        elif kind == "adam":
            # automatic calculation in the lesson: a recalculation after each copy
            for _ in range(2):
                for pair in (("ms_last", "gradtarget"), ("momlast", "momtarget")):
                    copy_values(book, [pair])
                    _calculate(book, 0)
        elif kind == "adam_ann":
            # manual calculation: both copies read one pass; prev_grad2 takes avg_grad2 as it
            # stood at the last recalculation, i.e. before the second copy
            pairs = [("ms_last", "gradtarget"), ("momlast", "momtarget")]
            copy_values(book, pairs)
            _calculate(book, 0)
            stood = book.get("avg_grad2")
            copy_values(book, pairs)
            book.set("prev_grad2", stood)
            _calculate(book, 0)
    book.write_log([log_entry(book, 0)])


def set_lr(book, lr):
    """Typing a new learning rate into the lr cell: the current pass is recalculated from the same top."""
    if not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise BadInput(f"lr must be a finite number > 0, got {lr}")
    book.set("lr", float(lr))
    epoch = book.read_log()[-1]["epoch"] if book.read_log() else 0
    _calculate(book, epoch)
