"""The lab's errors: each carries one message that says what went wrong, where, and the fix."""


class XloptError(Exception):
    """Base: the CLI prints str(e) alone and exits non-zero."""
    exit_code = 2


class BadInput(XloptError):
    """A value the user gave (argument, cell, file) cannot be used."""


class Diverged(XloptError):
    """A pass stopped being finite: names the epoch and the row, suggests a smaller lr."""
    exit_code = 3

    def __init__(self, sheet, epoch, row, first_row=4, detail=""):
        self.sheet, self.epoch, self.row = sheet, epoch, row
        where = f"epoch {epoch}, data row {row} (sheet row {row + first_row - 1})"
        super().__init__(
            f"{sheet}: values stopped being finite at {where}{detail}; "
            f"the learning rate is too large for this data - try a smaller --lr")


class MissingTool(XloptError):
    """A system part (LibreOffice, the dataset) is not installed: names the package."""
    exit_code = 4


class Busy(XloptError):
    """Another xlopt holds the lock on the file and --lock-timeout ran out: nothing was written."""
    exit_code = 5
