"""xlopt.core.buttons' book over one sheet of a workbook open in LibreOffice: the shared
named-range book (xlopt.live.named_book) over a driver that talks to a `Doc`."""
from xlopt.core.cells import parse_ref
from xlopt.core.errors import BadInput
from xlopt.live.named_book import NamedRangeBook


class DocDriver:
    """A1 reads and writes on one sheet of a LibreOffice `Doc` (one UNO round trip each)."""

    def __init__(self, doc, sheet):
        if sheet not in doc.sheet_names():
            raise BadInput(f"the workbook has no sheet {sheet!r}; it has {', '.join(doc.sheet_names())}")
        self.doc, self.name = doc, sheet
        self._auto = True
        self.round_trips = 0

    def raw_names(self):
        return self.doc.names(self.name)

    def read(self, ref):
        self.round_trips += 1
        return self.doc.read_raw(self.name, ref)

    def write(self, ref, rows):
        """Write rows; None marks cells to clear (the log's tail): the range is cleared, then the
        leading rows without None are written."""
        if any(v is None for row in rows for v in row):
            self.round_trips += 1
            self.doc.clear(self.name, ref)
            rows = rows[:next(i for i, row in enumerate(rows) if any(v is None for v in row))]
            if not rows:
                return
            r0, c0, _, c1 = parse_ref(ref)
            ref = f"{_cell(r0, c0)}:{_cell(r0 + len(rows) - 1, c1)}"
        self.round_trips += 1
        self.doc.write(self.name, ref, [v for row in rows for v in row])

    def calculate(self):
        self.round_trips += 1
        self.doc.calculate_all()

    def is_auto(self):
        return self._auto

    def set_auto(self, on):
        self.round_trips += 1
        self.doc.set_auto_calc(bool(on))
        self._auto = bool(on)
        if on:
            self.doc.calculate_all()


def _cell(r, c):
    from xlopt.core.cells import cell_name
    return cell_name(r, c)


class UnoBook(NamedRangeBook):
    """The book interface of `xlopt.core.buttons` (see engine.MemoryBook) over one sheet of a Doc."""

    def __init__(self, doc, sheet):
        super().__init__(DocDriver(doc, sheet))
        self.doc = doc
