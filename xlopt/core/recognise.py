"""Which definition a workbook's sheet follows: the one its `sheetkind` name names, else the lesson's
sheet whose layout (names and columns) it has.

The lesson's own graddesc.xlsm names no sheet's kind and carries broken names (`ms_last` and
`gradtarget` refer to #REF! on momentum), so a guess from which names merely exist would take its
momentum sheet for rmsprop: only valid names count, and the most specific layout wins.
"""
import re

from xlopt.core import problems, sheets
from xlopt.core.cells import col_index, parse_ref
from xlopt.core.errors import BadInput


def split_names(raw):
    """{name: stored text} -> ({name: 'C1' or 'J32:K32'} of valid references, {name: text constant})."""
    refs, consts = {}, {}
    for name, text in raw.items():
        text = (text or "").strip().lstrip("=")
        text = text.split("!")[-1] if "!" in text else text
        if re.fullmatch(r'"[^"]*"', text):
            consts[name] = text[1:-1]
            continue
        cell = text.replace("$", "")
        try:
            parse_ref(cell)
        except BadInput:
            continue  # #REF! and other broken names: as if absent
        refs[name] = cell
    return refs, consts


def sheet_of(name, refs, consts, filled=None):
    """The definition of the workbook sheet `name`, from its names; `filled(letters)` tells which of
    the given columns hold values in the first data row (checked for the lesson's layouts)."""
    kind = consts.get(sheets.KIND_NAME)
    if kind is not None:
        if kind not in sheets.BY_NAME:
            raise BadInput(f"sheet {name!r} says it is a {kind!r} sheet, which this xlopt does not know "
                           f"({', '.join(sheets.SHEETS)}): upgrade xlopt or rebuild the workbook")
        problem = consts.get(sheets.PROBLEM_NAME)  # none: the lesson's problem (every file before problems)
        if problem is not None and problem not in problems.BY_NAME:
            raise BadInput(f"sheet {name!r} minimises the problem {problem!r}, which this xlopt does not know "
                           f"({', '.join(problems.PROBLEMS)}): upgrade xlopt or rebuild the workbook")
        return sheets.get(kind, problem)
    fits = [s for s in (sheets.get(n) for n in sheets.LESSON_SHEETS) if set(s.lesson.names) <= set(refs)]
    if fits and filled is not None:
        fits = [s for s in fits if all(filled(lesson_columns(s)))]
    if not fits:
        raise BadInput(f"sheet {name!r} carries none of the lesson's names (const, slope, lr, lastconst, "
                       "momlast, ms_last, rmse ...): select one of the optimizer sheets")
    most = max(len(s.lesson.names) for s in fits)
    best = [s for s in fits if len(s.lesson.names) == most]
    if len(best) > 1:
        raise BadInput(f"sheet {name!r} fits the layouts of {', '.join(s.name for s in best)}: add the name "
                       f"{sheets.KIND_NAME} (=\"{best[0].name}\") to say which it is")
    return best[0]


def lesson_columns(sheet):
    """The letters of the columns the lesson's file has on this sheet (A–M on adam, …)."""
    first, last = (col_index(c) for c in sheet.lesson.columns)
    return [c for c in sheet.column_letters() if first <= col_index(c) <= last]


def present_columns(sheet, consts):
    """The computed columns an error check may read: all of them in a built workbook, in the lesson's
    own file only those it has (no error column on rmsprop and the adams)."""
    if sheets.KIND_NAME in consts or sheet.lesson is None:
        return sheet.column_letters()
    return lesson_columns(sheet)


def fallback_names(sheet, refs, consts):
    """{name: cell} for the names the lesson's file lacks but the buttons need (basic's lr in F1, the β
    cells, the data, the last row's new b and a), from the layout the definition gives them."""
    if sheets.KIND_NAME in consts or "lastconst" not in refs:
        return {}
    r0, _, _, _ = parse_ref(refs["lastconst"])
    n = r0 + 1 - sheets.FIRST_ROW + 1
    if n < 2:
        return {}
    full = {k: v.replace("$", "") for k, v in sheet.names(n).items()}
    wanted = ("lr", *sheet.hyper, "data_x", "data_y", "lastnewconst", "lastnewslope")
    return {k: full[k] for k in wanted if k not in refs}
