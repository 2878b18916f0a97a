"""Graft a one-sheet workbook into an existing one's zip, leaving every other part as it was.

Neither openpyxl nor a LibreOffice round trip keeps a workbook whole (openpyxl drops charts and form
controls, LibreOffice rewrites every part), so the new sheet (written by XlsxWriter, in memory) is
grafted in:

1. its sheet, drawing and chart parts are copied in under unused part names, its strings are made
   inline (no shared-strings merge), and its cell formats, fonts, fills, borders, number formats
   and conditional-format styles are appended to the target's styles.xml (indices shifted);
2. workbook.xml gets one <sheet> (or, when replacing, keeps the old one's place, id and
   relationship, so sheet indices and sheet-scoped names stay right), its .rels one relationship,
   [Content_Types].xml the new parts. Every other part is copied byte for byte: formulas, names,
   charts, VBA (vbaProject.bin), buttons (VML, ctrlProps) and the other sheets stay as they are.
   docProps/app.xml's list of sheet titles is not updated (Excel and LibreOffice do not read it).

The sweep sheet (`xlopt.writers.sweep_sheet`) and the gallery's table (`xlopt.writers.gallery`) come
in this way, through xlopt.core.zip_parts: under the workbook lock, to a temp file moved into place.
"""
import io
import os
import posixpath
import re
import zipfile

from xlopt.core import zip_parts
from xlopt.core.errors import BadInput

SUFFIXES = (".xlsx", ".xlsm")
CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
REL_SHEET = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"


def check_target(path):
    if os.path.splitext(path)[1].lower() not in SUFFIXES:
        raise BadInput(f"--workbook {path} must be an existing .xlsx or .xlsm")
    if not os.path.isfile(path):
        raise BadInput(f"--workbook {path} does not exist (build one with xlopt build -o {path})")
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
    except (zipfile.BadZipFile, OSError) as e:
        raise BadInput(f"--workbook {path} is not a workbook ({e})") from None
    for part in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml", "[Content_Types].xml"):
        if part not in names:
            raise BadInput(f"--workbook {path} lacks {part}: not an Excel workbook")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BadInput(f"cannot write {path}: folder {folder} is not writable")

def _inline_strings(sheet_xml, sst_xml):
    """Shared-string cells (t="s") -> inline strings, so no sharedStrings.xml merge is needed."""
    strings = re.findall(r"<si>(.*?)</si>", sst_xml, re.S)

    def cell(m):
        attrs, idx = m.group(1), int(m.group(2))
        return f'<c{attrs} t="inlineStr"><is>{strings[idx]}</is></c>'
    return re.sub(r'<c([^>]*?) t="s"><v>(\d+)</v></c>', cell, sheet_xml)


def _section(xml, tag):
    """(start, end, inner, count) of <tag ...>inner</tag> (or a self-closing / absent one)."""
    m = re.search(rf"<{tag}\b[^>]*?/>", xml)
    full = re.search(rf"<{tag}\b[^>]*?>(.*?)</{tag}>", xml, re.S)
    if full and (not m or full.start() <= m.start()):
        return full.start(), full.end(), full.group(1)
    if m:
        return m.start(), m.end(), ""
    return None


def _items(inner, tag):
    return re.findall(rf"<{tag}\b(?:[^>]*?/>|.*?</{tag}>)", inner, re.S)


def _put_section(xml, tag, items, after_tags):
    """Replace (or insert) <tag count=N>items</tag> in styles.xml."""
    sec = _section(xml, tag)
    body = f'<{tag} count="{len(items)}">{"".join(items)}</{tag}>'
    if sec:
        start, end, _ = sec
        head = re.match(rf"<{tag}\b[^>]*", xml[start:]).group(0)
        head = re.sub(r'\scount="\d+"', "", head)
        body = f'{head} count="{len(items)}">{"".join(items)}</{tag}>'
        return xml[:start] + body + xml[end:]
    for t in after_tags:  # insert after the closest earlier section
        s = _section(xml, t)
        if s:
            return xml[:s[1]] + body + xml[s[1]:]
    m = re.search(r"<styleSheet\b[^>]*>", xml)
    return xml[:m.end()] + body + xml[m.end():]


def merge_styles(target, new):
    """Append `new`'s formats to `target`'s styles.xml; -> (styles, xf offset, dxf offset)."""
    order = ["numFmts", "fonts", "fills", "borders", "cellStyleXfs", "cellXfs", "cellStyles", "dxfs"]

    def items(xml, tag, item):
        s = _section(xml, tag)
        return _items(s[2], item) if s else []
    t_fmt, n_fmt = items(target, "numFmts", "numFmt"), items(new, "numFmts", "numFmt")
    used = [int(x) for x in re.findall(r'numFmtId="(\d+)"', "".join(t_fmt))]
    next_id = max([163] + used) + 1
    fmt_map = {}
    for f in n_fmt:
        old = int(re.search(r'numFmtId="(\d+)"', f).group(1))
        fmt_map[old] = next_id
        t_fmt.append(re.sub(r'numFmtId="\d+"', f'numFmtId="{next_id}"', f))
        next_id += 1
    offs = {}
    out = target
    for tag, item in (("fonts", "font"), ("fills", "fill"), ("borders", "border")):
        t_items = items(out, tag, item)
        offs[item] = len(t_items)
        out = _put_section(out, tag, t_items + items(new, tag, item), order[:order.index(tag)][::-1])
    t_xf = items(out, "cellXfs", "xf")
    xf_off = len(t_xf)

    def remap(xf):
        xf = re.sub(r'fontId="(\d+)"', lambda m: f'fontId="{int(m[1]) + offs["font"]}"', xf)
        xf = re.sub(r'fillId="(\d+)"', lambda m: f'fillId="{int(m[1]) + offs["fill"]}"', xf)
        xf = re.sub(r'borderId="(\d+)"', lambda m: f'borderId="{int(m[1]) + offs["border"]}"', xf)
        xf = re.sub(r'numFmtId="(\d+)"', lambda m: f'numFmtId="{fmt_map.get(int(m[1]), int(m[1]))}"', xf)
        return re.sub(r'xfId="\d+"', 'xfId="0"', xf)
    out = _put_section(out, "cellXfs", t_xf + [remap(x) for x in items(new, "cellXfs", "xf")],
                       ["cellStyleXfs", "borders"])
    if t_fmt:
        out = _put_section(out, "numFmts", t_fmt, [])
    t_dxf = items(out, "dxfs", "dxf")
    n_dxf = items(new, "dxfs", "dxf")
    if n_dxf:
        out = _put_section(out, "dxfs", t_dxf + n_dxf, ["cellStyles", "cellXfs"])
    return out, xf_off, len(t_dxf)


def _shift_styles(sheet_xml, xf_off, dxf_off):
    sheet_xml = re.sub(r'(<(?:c|row|col)\b[^>]*?\ss=")(\d+)"', lambda m: f'{m[1]}{int(m[2]) + xf_off}"', sheet_xml)
    sheet_xml = re.sub(r'(<col\b[^>]*?\sstyle=")(\d+)"', lambda m: f'{m[1]}{int(m[2]) + xf_off}"', sheet_xml)
    return re.sub(r'dxfId="(\d+)"', lambda m: f'dxfId="{int(m[1]) + dxf_off}"', sheet_xml)


def _next(names, folder, stem, ext):
    nums = [int(m[1]) for n in names for m in [re.fullmatch(rf"{folder}/{stem}(\d+)\.{ext}", n)] if m]
    return max([0] + nums) + 1


def _rels_of(part):
    d, b = posixpath.split(part)
    return f"{d}/_rels/{b}.rels"


def _targets(rels_xml, base):
    out = []
    for t in re.findall(r'Target="([^"]+)"', rels_xml):
        if "://" not in t:
            out.append(posixpath.normpath(posixpath.join(posixpath.dirname(base), t)))
    return out


def graft(target_bytes, new_bytes, name):
    """The target workbook (bytes) with sheet `name` from `new_bytes` added or replaced."""
    return zip_parts.rewrite(target_bytes, graft_changes(zip_parts.read(io.BytesIO(target_bytes)), new_bytes, name))


def graft_changes(parts, new_bytes, name):
    """The changes ({part: bytes, or None to remove}) that add or replace sheet `name` of the
    workbook whose parts are `parts` with the one sheet of `new_bytes` (zip_parts.update's edit)."""
    new = zipfile.ZipFile(io.BytesIO(new_bytes))
    parts = dict(parts)
    changes = {}
    wb = parts["xl/workbook.xml"].decode("utf-8")
    rels = parts["xl/_rels/workbook.xml.rels"].decode("utf-8")
    ct = parts["[Content_Types].xml"].decode("utf-8")
    # an existing sheet of that name: drop its parts, keep its <sheet> element and relationship
    esc = re.escape(name)
    m = re.search(rf'<sheet\b[^>]*\bname="{esc}"[^>]*/>', wb)
    rid = None
    removed = []
    if m:
        rid = re.search(r'\b\w+:id="([^"]+)"', m.group(0)).group(1)
        rel = re.search(rf'<Relationship\b[^>]*\bId="{re.escape(rid)}"[^>]*/>', rels).group(0)
        old = posixpath.normpath(posixpath.join("xl", re.search(r'Target="([^"]+)"', rel).group(1).lstrip("/")))
        stack = [old]
        while stack:
            p = stack.pop()
            if p in parts:
                removed.append(p)
                r = _rels_of(p)
                if r in parts:
                    stack += [t for t in _targets(parts[r].decode("utf-8"), p) if re.match(r"xl/(drawings|charts)/", t)]
                    removed.append(r)
        for p in removed:
            parts.pop(p, None)
            changes[p] = None
            ct = re.sub(rf'<Override\b[^>]*PartName="/{re.escape(p)}"[^>]*/>', "", ct)
    names = set(parts)
    sheet_part = f"xl/worksheets/sheet{_next(names, 'xl/worksheets', 'sheet', 'xml')}.xml"
    n_drawing = _next(names, "xl/drawings", "drawing", "xml")
    n_chart = _next(names, "xl/charts", "chart", "xml")
    # the new workbook's parts, renumbered
    nsheet = new.read("xl/worksheets/sheet1.xml").decode("utf-8")
    sst = new.read("xl/sharedStrings.xml").decode("utf-8") if "xl/sharedStrings.xml" in new.namelist() else ""
    nsheet = _inline_strings(nsheet, sst)
    nsheet = nsheet.replace(' tabSelected="1"', "")
    styles, xf_off, dxf_off = merge_styles(parts["xl/styles.xml"].decode("utf-8"), new.read("xl/styles.xml").decode("utf-8"))
    parts["xl/styles.xml"] = styles.encode("utf-8")
    nsheet = _shift_styles(nsheet, xf_off, dxf_off)
    add = {sheet_part: nsheet.encode("utf-8")}
    overrides = [(sheet_part, CT_SHEET)]
    nct = new.read("[Content_Types].xml").decode("utf-8")

    def ctype(part):
        return re.search(rf'PartName="/{re.escape(part)}" ContentType="([^"]+)"', nct).group(1)
    if "xl/worksheets/_rels/sheet1.xml.rels" in new.namelist():
        srels = new.read("xl/worksheets/_rels/sheet1.xml.rels").decode("utf-8")
        drawing = f"xl/drawings/drawing{n_drawing}.xml"
        srels = srels.replace("../drawings/drawing1.xml", f"../drawings/drawing{n_drawing}.xml")
        add[_rels_of(sheet_part)] = srels.encode("utf-8")
        add[drawing] = new.read("xl/drawings/drawing1.xml")
        overrides.append((drawing, ctype("xl/drawings/drawing1.xml")))
        drels = new.read("xl/drawings/_rels/drawing1.xml.rels").decode("utf-8")
        for k in sorted({int(x) for x in re.findall(r"charts/chart(\d+)\.xml", drels)}):
            part = f"xl/charts/chart{n_chart}.xml"
            drels = drels.replace(f"../charts/chart{k}.xml", f"../charts/chart_new{n_chart}.xml")
            add[part] = new.read(f"xl/charts/chart{k}.xml")
            overrides.append((part, ctype(f"xl/charts/chart{k}.xml")))
            n_chart += 1
        add[_rels_of(drawing)] = drels.replace("chart_new", "chart").encode("utf-8")
    for part, typ in overrides:
        ct = ct.replace("</Types>", f'<Override PartName="/{part}" ContentType="{typ}"/></Types>')
    target = posixpath.relpath(sheet_part, "xl")
    if rid is None:
        ids = set(re.findall(r'\bId="([^"]+)"', rels))
        k = 1
        while f"rIdSweep{k}" in ids:
            k += 1
        rid = f"rIdSweep{k}"
        rel = f'<Relationship Id="{rid}" Type="{REL_SHEET}" Target="{target}"/>'
        rels = rels.replace("</Relationships>", rel + "</Relationships>")
        prefix = re.search(r'<sheet\b[^>]*\b(\w+):id="', wb).group(1)
        sheet_id = max(int(x) for x in re.findall(r'<sheet\b[^>]*\bsheetId="(\d+)"', wb)) + 1
        wb = wb.replace("</sheets>", f'<sheet name="{name}" sheetId="{sheet_id}" {prefix}:id="{rid}"/></sheets>')
    else:
        rels = re.sub(rf'(<Relationship\b[^>]*\bId="{re.escape(rid)}"[^>]*\bTarget=")[^"]+"', rf'\g<1>{target}"', rels)
        rels = re.sub(rf'(<Relationship\b[^>]*\bTarget=")[^"]+("[^>]*\bId="{re.escape(rid)}")', rf'\g<1>{target}\2', rels)
    changes["xl/styles.xml"] = parts["xl/styles.xml"]
    changes["xl/workbook.xml"] = wb.encode("utf-8")
    changes["xl/_rels/workbook.xml.rels"] = rels.encode("utf-8")
    changes["[Content_Types].xml"] = ct.encode("utf-8")
    changes.update(add)
    return changes
