"""What the Run and Reset buttons do, written once against a small workbook interface.

A book offers: `sheet` (its definition, xlopt.core.sheet.Sheet), `name`, has(name), get(name),
set(name, value), calculate(), manual() (a context in which writes do not recalculate),
first_bad_row(), read_log(), write_log(entries). Everything specific to a sheet — its copies, its
Reset plan, its per-epoch hook — comes from the definition; nothing here names a sheet. The engine's
MemoryBook, LibreOffice over UNO and Excel over xlwings all implement it, so `xlopt run`, the
headless `xlopt click` and the Excel buttons replay the lesson's macros identically.
"""
import math

from xlopt.core.errors import BadInput, Diverged

CARRIES = ("lesson", "full")
EPOCHS_PER_CLICK = 5


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
    return [(top[0], "const"), (top[1], "slope")] + [(t.last, t.name) for t in book.sheet.targets]


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
    """One log row; a sheet without an rmse cell (the lesson's rmsprop and adams) logs nan there."""
    key = book.sheet.rmse_key  # 'rmse' on the lesson's problem, 'loss' on a function
    return {"epoch": epoch, "rmse": book.get(key) if book.has(key) else math.nan,
            "const": book.get("const"), "slope": book.get("slope"), "lr": book.get("lr")}


def run(book, epochs=EPOCHS_PER_CLICK, carry="lesson", tick=None):
    """The Run button: `epochs` carries (five per click), the sheet's per-epoch hook, one log row each.

    tick: called once after each epoch (a progress bar's update), if given."""
    if epochs < 1:
        raise BadInput(f"epochs must be at least 1, got {epochs}")
    hook = book.sheet.after_epoch
    log = book.read_log()
    epoch = log[-1]["epoch"] if log else 0
    pairs = _copies(book, carry)  # the same every epoch
    with book.manual():
        for _ in range(epochs):
            epoch += 1
            copy_values(book, pairs)  # onestep(book, carry, epoch)
            _calculate(book, epoch)
            if hook is not None:
                hook(book)
                _calculate(book, epoch)
            log.append(log_entry(book, epoch))
            if tick is not None:
                tick()
    book.write_log(log)
    return log


def reset(book):
    """The Reset button: the sheet's Reset plan (xlopt.core.sheet.Reset), then the log restarted."""
    sheet = book.sheet
    plan = sheet.reset
    with book.manual():
        book.set("const", sheet.start[0])  # the problem's starting point: 1, 1 on the lesson's
        book.set("slope", sheet.start[1])
        for t in sheet.targets:
            book.set(t.name, t.values())
        if plan.lr is not None:
            book.set("lr", plan.lr)
        _calculate(book, 0)
        for _ in range(plan.times):
            for group in plan.warmup:
                copy_values(book, list(group))
                if plan.mode == "auto":
                    _calculate(book, 0)
            if plan.mode != "auto":
                _calculate(book, 0)
    book.write_log([log_entry(book, 0)])


def set_lr(book, lr):
    """Typing a new learning rate into the lr cell: the current pass is recalculated from the same top."""
    if not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise BadInput(f"lr must be a finite number > 0, got {lr}")
    book.set("lr", float(lr))
    epoch = book.read_log()[-1]["epoch"] if book.read_log() else 0
    _calculate(book, epoch)
