"""LibreOffice headless as a spreadsheet engine, split by job: the soffice process (`process`), its
private profile and what a dead run leaves (`profiles`), its process group (`group`), the UNO bridge
in or out of this Python (`bridge`), one loaded workbook (`doc`) and the buttons' book over one of
its sheets (`book`)."""
from xlopt.live.lo.book import UnoBook
from xlopt.live.lo.doc import Doc
from xlopt.live.lo.process import LibreOffice, find_soffice

__all__ = ["Doc", "LibreOffice", "UnoBook", "find_soffice"]
