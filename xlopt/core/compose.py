"""A sheet is a problem composed with an optimizer: the problem's columns laid out around the
optimizer's, their letters, summaries and words put together (xlopt.core.problem, xlopt.core.sheet).

On the lesson's problem the result is, field for field, the sheet the lesson's workbook has.
"""
import dataclasses
import re

from xlopt.core.cells import col_index, col_letters
from xlopt.core.sheet import START, Sheet

FIRST_COMPUTED = "E"  # A, B: the data (or the step number), C, D: the row's two parameters


def compose(problem, opt):
    lead, trail = problem.columns(opt.estimate)
    e0 = col_index(FIRST_COMPUTED)
    shift = e0 + len(lead) - min(col_index(c.letter) for c in opt.columns)
    move = (lambda letter: col_letters(col_index(letter) + shift)) if shift else (lambda letter: letter)
    cell = lambda addr: _move_cell(addr, move)
    own = [dataclasses.replace(c, letter=move(c.letter), title=_relabel(c.title, problem.labels)) for c in opt.columns]
    start = col_index(cell(opt.problem_at + "1")[:-1]) if opt.problem_at else max(col_index(c.letter) for c in own) + 1
    placed = [dataclasses.replace(c, letter=col_letters(e0 + i)) for i, c in enumerate(lead)]
    placed += [dataclasses.replace(c, letter=col_letters(start + i)) for i, c in enumerate(trail)]
    columns = tuple(placed[:len(lead)]) + tuple(own) + tuple(placed[len(lead):])
    letter_of = {c.key: c.letter for c in columns}
    summaries = tuple(problem.summaries(letter_of.__getitem__)) + tuple(
        dataclasses.replace(s, letter=letter_of[s.letter[1:]] if s.letter.startswith("@") else move(s.letter))
        for s in opt.summaries)
    lr = opt.lr_default if problem.lr is None else problem.lr[opt.step]
    reset = opt.reset if opt.reset.lr is None else dataclasses.replace(opt.reset, lr=lr if problem.lr else opt.reset.lr)
    return Sheet(
        opt.name, opt.position, opt.lr_cell, lr, {h: (cell(c), v) for h, (c, v) in opt.hyper.items()},
        columns=columns,
        state={k: move(v) for k, v in opt.state.items()},
        targets=tuple(_target(t, problem) for t in opt.targets),
        summaries=summaries,
        extras=tuple(dataclasses.replace(e, cell=cell(e.cell)) for e in opt.extras),
        display=tuple(_display(d, cell) for d in opt.display),
        reset=reset, after_epoch=opt.after_epoch,
        instructions=opt.instructions if not problem.instructions else
        f"{_first_sentence(opt.instructions)} On {problem.name}: {problem.instructions}",
        watch=problem.watch or opt.watch,
        try_this=problem.try_this if problem.watch else opt.try_this,
        torch=opt.torch, lesson=opt.lesson if problem.lesson else None,
        new_b=opt.new_b, new_a=opt.new_a, rmse_key=problem.loss_key, problem=problem, start=problem.start,
    )


def _move_cell(addr, move):
    m = re.fullmatch(r"([A-Z]+)(\d+)", addr)
    return f"{move(m.group(1))}{m.group(2)}"


def _target(t, problem):
    return dataclasses.replace(t, reset=tuple(problem.start)) if t.reset == START else t


def _display(d, cell):
    note = (cell(d.note[0]), d.note[1]) if d.note else ()
    return dataclasses.replace(d, address=cell(d.address), note=note)


def _relabel(title, labels):
    """'mom b' -> 'mom x' where the problem calls its parameters x and y."""
    if tuple(labels) == ("b", "a"):
        return title
    b, a = labels
    title = re.sub(r"\bg_b\b", f"g_{b}", re.sub(r"\bg_a\b", f"g_{a}", title))
    return re.sub(r"\bb\b", b, re.sub(r"\ba\b", a, title))


def _first_sentence(text):
    return text.split(". ")[0].rstrip(".") + "." if text else ""

