"""The lab's errors: each carries one message that says what went wrong, where, and the fix."""


TINY_LR = 1e-300  # the lr at which a pass that still overflows blames the data, not the lr


class XloptError(Exception):
    """Base: the CLI prints str(e) alone and exits non-zero."""
    exit_code = 2


class BadInput(XloptError):
    """A value the user gave (argument, cell, file) cannot be used."""


class Diverged(XloptError):
    """A pass stopped being finite: names the epoch and the row, suggests a smaller lr.

    With `data` = (data row, x, y) the data themselves overflow (the first pass from Reset is not
    finite even at a tiny lr, see engine.data_overflow): the message names that row and says to
    scale the data instead, since no learning rate can help."""
    exit_code = 3

    def __init__(self, sheet, epoch, row, first_row=4, detail="", data=None):
        self.sheet, self.epoch, self.row, self.first_row, self.data = sheet, epoch, row, first_row, data
        self.detail = detail
        where = f"epoch {epoch}, data row {row} (sheet row {row + first_row - 1})"
        if data is None:
            fix = "the learning rate is too large for this data - try a smaller --lr"
        else:
            r, x, y = data
            fix = (f"the data themselves overflow, whatever the learning rate: data row {r} (sheet row "
                   f"{r + first_row - 1}, x = {x:g}, y = {y:g}) gives values beyond the float range even at "
                   f"lr {TINY_LR:g} - scale the data (divide x and y by a power of ten) and start again")
        super().__init__(f"{sheet}: values stopped being finite at {where}{detail}; {fix}")


class MissingTool(XloptError):
    """A system part (LibreOffice, the dataset) is not installed: names the package."""
    exit_code = 4


class Busy(XloptError):
    """Another xlopt holds the lock on the file and --lock-timeout ran out: nothing was written."""
    exit_code = 5


class OfficeFailed(MissingTool):
    """LibreOffice ended in the middle of a call, or did not answer in time: nothing was written."""
    exit_code = 4
