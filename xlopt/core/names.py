"""Excel's rules for a defined name, checked on every sheet definition when it is made.

A name Excel reads as a cell is refused by Excel (or, stored anyway, read as that cell): A1 style up
to column XFD (16,384 columns, so `mom2`, `lr1` and `ab12` are cells) and R1C1 style (`R`, `C`,
`R2C3`, `RC`). LibreOffice (1,024 columns) accepts some of these, so LibreOffice passing proves
nothing. Besides: a letter, `_` or `\\` first, then letters, digits, `_` and `.`, at most 255
characters; TRUE and FALSE are values. Only ASCII letters are allowed here: Excel takes other
letters too, but Gnumeric and older files may not, and nothing of ours needs them.
"""
import re

MAX_LEN = 255
MAX_COLUMN = 16384  # XFD
_CHARS = re.compile(r"^[A-Za-z_\\][A-Za-z0-9_.\\]*$")
_A1 = re.compile(r"^([A-Za-z]{1,3})(\d+)$")
_R1C1 = re.compile(r"^([Rr]\d*)?([Cc]\d*)?$")


class BadName(ValueError):
    """A sheet definition names a cell in a way Excel will not accept (a programming error)."""


def _column(letters):
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def problem(name):
    """Why Excel would refuse `name` as a defined name, or None when it accepts it."""
    if not isinstance(name, str) or not name:
        return "a name must be a non-empty string"
    if len(name) > MAX_LEN:
        return f"it has {len(name)} characters; Excel allows at most {MAX_LEN}"
    if not _CHARS.match(name):
        return "it must start with a letter or _ and hold only letters, digits, _ and ."
    m = _A1.match(name)
    if m and _column(m.group(1)) <= MAX_COLUMN:
        return (f"Excel reads it as the cell {name.upper()} (columns run to XFD): "
                f"use at least four letters before a digit, or an _")
    if _R1C1.match(name):
        return "Excel reads it as an R1C1 reference (R, C, RC, R2C3 and the like)"
    if name.upper() in ("TRUE", "FALSE"):
        return "Excel reads it as a truth value"
    return None


def check(names, where):
    """Raise BadName naming the first name of `names` Excel would refuse, and why."""
    for name in names:
        why = problem(name)
        if why is not None:
            raise BadName(f"{where}: the defined name {name!r} is not one Excel accepts: {why}; rename it")
