"""What must hold of a workbook file before LibreOffice opens it for a press or a check.

LibreOffice opens what it can and drops the rest: a shared-strings part it cannot parse (an
external entity, an entity bomb) loads as a workbook without its 285 labels, and saving it writes
them away; an .xlsx that holds a VBA project loses it and its buttons. Both are refused here, with
one message, before anything is written. Read-only; pure Python (zipfile and expat).
"""
import os
import re
import zipfile
import zlib
from xml.parsers import expat

from xlopt.core.errors import BadInput

MACRO_TYPE = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
MAX_PART = 256 * 2 ** 20  # an XML part larger than this uncompressed is not one of ours (a zip bomb)


def _parse(data, path, part):
    """Parse one XML part; refuse a document type declaration (OOXML never has one: it is how an
    external entity or an entity bomb comes in) and any XML error."""
    p = expat.ParserCreate()

    def doctype(*_):
        raise BadInput(f"{path}: its part {part} declares a document type (entities), which no "
                       "spreadsheet writes; the file was tampered with or damaged - open it in your "
                       "spreadsheet and save a clean copy, or rebuild it with xlopt build")
    p.StartDoctypeDeclHandler = doctype
    p.EntityDeclHandler = doctype
    try:
        p.Parse(data, True)
    except expat.ExpatError as e:
        raise BadInput(f"{path}: its part {part} is not well-formed XML ({e}); LibreOffice would drop "
                       "what it cannot read and the save would lose it - repair the file, or rebuild "
                       "it with xlopt build") from None


def _utf8(data, path, part):
    """Excel and LibreOffice write every part in UTF-8; xlopt reads and keeps parts as UTF-8."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        kind = "UTF-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "not UTF-8"
        raise BadInput(f"{path}: its part {part} is {kind} (byte {e.start}); spreadsheets write UTF-8 - open "
                       "it in your spreadsheet and save it again, or rebuild it with xlopt build") from None


def check_parts(path):
    """Refuse a workbook whose XML parts do not parse, or whose content does not match its name."""
    suffix = os.path.splitext(path)[1].lower()
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            names = {i.filename for i in infos}
            for info in infos:
                if not re.search(r"\.(xml|rels|vml)$", info.filename, re.I):
                    continue
                if info.file_size > MAX_PART:
                    raise BadInput(f"{path}: its part {info.filename} is {info.file_size:,} bytes "
                                   "uncompressed, more than any workbook part should be - refusing it")
                data = z.read(info)
                _parse(data, path, info.filename)
                _utf8(data, path, info.filename)
            types = z.read("[Content_Types].xml").decode("utf-8", "replace") if "[Content_Types].xml" in names else ""
    except zipfile.BadZipFile:
        raise BadInput(f"{path} is not a workbook (an .xlsx or .xlsm file is a zip archive; this one is "
                       "not, or it is damaged)") from None
    except (zlib.error, EOFError) as e:
        raise BadInput(f"{path} is a damaged zip archive ({e}); restore it from a copy") from None
    if "xl/workbook.xml" not in names:
        raise BadInput(f"{path} is not an Excel workbook (the zip archive holds no xl/workbook.xml)")
    macro = MACRO_TYPE in types or "xl/vbaProject.bin" in names
    if suffix == ".xlsx" and macro:
        raise BadInput(f"{path} is a macro workbook (it holds a VBA project) named .xlsx; saving it as "
                       ".xlsx would drop its macros and buttons - rename it to .xlsm")


def check_writable(path):
    """check_parts, and the file and its folder writable (a sheet is added through a temp file)."""
    check_parts(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.access(path, os.W_OK) or not os.access(folder, os.W_OK):
        raise BadInput(f"cannot write {path}: permission denied (the file or its folder is read-only)")
