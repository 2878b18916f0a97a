"""A1 references: 'K33' <-> (row, column), ranges to cells. Pure Python, so LibreOffice's server
process (under the system Python) can import it too."""
import re

from xlopt.core.errors import BadInput

_CELL = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+)$")


def is_cell(text):
    """'K33', '$K$33' (or a range starting so) rather than a name."""
    return bool(_CELL.match(text.split(":")[0].strip().upper()))


def col_index(letters):
    """'A' -> 0, 'AB' -> 27."""
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def col_letters(i):
    """0 -> 'A', 27 -> 'AB'."""
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def parse_ref(ref):
    """'$J$32:$K$32' or 'C1' -> (row0, col0, row1, col1), 0-based inclusive."""
    parts = ref.split(":")
    if len(parts) > 2:
        raise BadInput(f"{ref!r} is not a cell or a range")
    out = []
    for p in parts:
        m = _CELL.match(p.strip().upper())
        if not m:
            raise BadInput(f"{ref!r} is not a cell or a range")
        out.append((int(m.group(2)) - 1, col_index(m.group(1))))
    (r0, c0), (r1, c1) = out[0], out[-1]
    return min(r0, r1), min(c0, c1), max(r0, r1), max(c0, c1)


def cell_name(row0, col0):
    return f"{col_letters(col0)}{row0 + 1}"


def cells_of(ref):
    """'$J$33:$K$34' -> ['J33', 'K33', 'J34', 'K34'] (row by row)."""
    r0, c0, r1, c1 = parse_ref(ref)
    return [cell_name(r, c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)]
