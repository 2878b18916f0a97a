"""Add (or replace) one sheet, with a bar chart, in an existing .xlsx/.xlsm, touching nothing else.

Why not load and save with openpyxl: that drops the formulas' cached values (the lab writes
the engine's numbers there so the file reads right before recalculation), rounds constants
to 16 digits, and may lose VBA buttons. Here every existing zip part is copied byte for byte;
only the new sheet, its drawing and chart are added, and four small index files (content
types, workbook, workbook rels) gain an entry. The chart XML itself comes from openpyxl.
"""
import io
import posixpath
import re
import zipfile
from xml.sax.saxutils import escape

from xlopt.core.cells import col_letters

from torch_side.errors import UsageError

__all__ = ["put_sheet"]

_NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_T_SHEET = _NS_R + "/worksheet"
_T_DRAWING = _NS_R + "/drawing"
_CT = {"sheet": "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml",
       "drawing": "application/vnd.openxmlformats-officedocument.drawing+xml",
       "chart": "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"}


def _cell(ref, v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return f'<c r="{ref}" t="b"><v>{int(v)}</v></c>'
    if isinstance(v, (int, float)):
        if v != v or v in (float("inf"), float("-inf")):
            return ""
        return f'<c r="{ref}"><v>{repr(float(v)) if isinstance(v, float) else v}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(str(v))}</t></is></c>'


def _sheet_xml(rows, drawing=True):
    out = ['<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
           '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
           f'xmlns:r="{_NS_R}"><sheetData>']
    for i, row in enumerate(rows, start=1):
        cells = "".join(_cell(f"{col_letters(j)}{i}", v) for j, v in enumerate(row))
        out.append(f'<row r="{i}">{cells}</row>')
    out.append('</sheetData>' + ('<drawing r:id="rId1"/>' if drawing else "") + '</worksheet>')
    return "".join(out).encode("utf-8")


def _chart_parts(sheet, rows, chart):
    """openpyxl writes a one-sheet workbook with the chart; we keep its drawing and chart XML."""
    import openpyxl
    from openpyxl.chart import BarChart, Reference
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for row in rows:
        ws.append(list(row))
    c0, c1, r0, r1 = chart["data"]
    bc = BarChart()
    bc.type, bc.title = "col", chart["title"]
    bc.y_axis.title, bc.x_axis.title = chart.get("y_title"), chart.get("x_title")
    bc.add_data(Reference(ws, min_col=c0, max_col=c1, min_row=r0, max_row=r1),
                titles_from_data=True)
    bc.set_categories(Reference(ws, min_col=c0 - 1, min_row=r0 + 1, max_row=r1))
    bc.height, bc.width = 8, 16
    ws.add_chart(bc, chart["anchor"])
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(buf) as z:
        drawing = z.read("xl/drawings/drawing1.xml")
        chart_xml = z.read("xl/charts/chart1.xml")
    return drawing, chart_xml


def _rels_targets(xml, base, rtype=None):
    """{Id: absolute part name} of a .rels file's relationships (optionally of one type)."""
    out = {}
    for m in re.finditer(r"<Relationship\b[^>]*/>", xml):
        tag = m.group(0)
        rid = re.search(r'\bId="([^"]+)"', tag).group(1)
        tgt = re.search(r'\bTarget="([^"]+)"', tag).group(1)
        typ = re.search(r'\bType="([^"]+)"', tag).group(1)
        if rtype is None or typ == rtype:
            out[rid] = tgt.lstrip("/") if tgt.startswith("/") else \
                posixpath.normpath(posixpath.join(base, tgt))
    return out


def _rels_path(part):
    d, f = posixpath.split(part)
    return posixpath.join(d, "_rels", f + ".rels")


def _free(names, pattern):
    n = 1
    while pattern.format(n) in names:
        n += 1
    return pattern.format(n)


def put_sheet(path, sheet, rows, chart=None, lock_timeout=None, new=False):
    """Write ``rows`` (lists of str/number/None) as sheet ``sheet``, with a bar chart if ``chart``.

    ``chart``: ``{'title', 'data': (min_col, max_col, min_row, max_row) of the series with
    their titles in min_row, 'anchor': 'H2', 'x_title', 'y_title'}``; categories are the
    column left of min_col. An existing sheet of that name is rewritten in place. The workbook is
    written through xlopt's one zip-part writer (xlopt.core.zip_parts): under the workbook lock
    (``lock_timeout`` seconds at most, then Busy), every other part byte for byte. ``new``: when
    no file is there, write a workbook holding just this sheet.
    """
    from xlopt.core import zip_parts
    from xlopt.core.errors import BadInput

    def fresh():
        base = _new_workbook(sheet)
        return zip_parts.rewrite(base, _changes(zip_parts.read(io.BytesIO(base)), sheet, rows, chart))
    try:
        zip_parts.update(path, lambda parts: _changes(parts, sheet, rows, chart), lock_timeout,
                         new=fresh if new else None)
    except BadInput as e:  # one of xlopt's: as torch-side's, also a ValueError for callers
        raise UsageError(str(e)) from None


def _new_workbook(sheet):
    """A workbook of one empty sheet named ``sheet`` (bytes); ``_changes`` then fills it."""
    import openpyxl
    wb = openpyxl.Workbook()
    wb.active.title = sheet
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _changes(parts, sheet, rows, chart):
    """zip_parts.update's edit: the parts to write (None: remove) for the sheet and its chart."""
    names = set(parts)
    for part in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels", "[Content_Types].xml"):
        if part not in names:
            raise UsageError(f"the workbook lacks {part}: not an .xlsx/.xlsm workbook")
    wb_xml = parts["xl/workbook.xml"].decode("utf-8")
    wb_rels = parts["xl/_rels/workbook.xml.rels"].decode("utf-8")
    ct = parts["[Content_Types].xml"].decode("utf-8")
    drop, new = set(), {}
    m = re.search(r'<sheet\b[^>]*\bname="' + re.escape(escape(sheet)) + r'"[^>]*/>', wb_xml)
    if m:  # replace in place: same sheet entry and part, fresh drawing and chart
        rid = re.search(r'\br:id="([^"]+)"', m.group(0)).group(1)
        sheet_part = _rels_targets(wb_rels, "xl")[rid]
        old_rels = _rels_path(sheet_part)
        if old_rels in names:
            drop.add(old_rels)
            for d in _rels_targets(parts[old_rels].decode(), posixpath.dirname(sheet_part),
                                   _T_DRAWING).values():
                drop.add(d)
                if _rels_path(d) in names:
                    drop.add(_rels_path(d))
                    drop.update(_rels_targets(parts[_rels_path(d)].decode(),
                                              posixpath.dirname(d)).values())
    else:
        sheet_part = _free(names, "xl/worksheets/sheet{}.xml")
        rids = {int(x) for x in re.findall(r'Id="rId(\d+)"', wb_rels)}
        rid = f"rId{max(rids, default=0) + 1}"
        ids = [int(x) for x in re.findall(r'<sheet\b[^>]*\bsheetId="(\d+)"', wb_xml)]
        wb_xml = wb_xml.replace("</sheets>", f'<sheet name="{escape(sheet)}" sheetId='
                                f'"{max(ids, default=0) + 1}" r:id="{rid}"/></sheets>', 1)
        wb_rels = wb_rels.replace("</Relationships>", f'<Relationship Id="{rid}" Type='
                                  f'"{_T_SHEET}" Target="/{sheet_part}"/></Relationships>', 1)
        ct = ct.replace("</Types>", f'<Override PartName="/{sheet_part}" ContentType='
                        f'"{_CT["sheet"]}"/></Types>', 1)
    for part in drop:
        ct = re.sub(r'<Override PartName="/' + re.escape(part) + r'"[^>]*/>', "", ct)
        new[part] = None
    new[sheet_part] = _sheet_xml(rows, drawing=chart is not None)
    if chart is not None:
        taken = names - drop
        drawing_part = _free(taken, "xl/drawings/drawing{}.xml")
        chart_part = _free(taken, "xl/charts/chart{}.xml")
        ct = ct.replace("</Types>", f'<Override PartName="/{drawing_part}" ContentType='
                        f'"{_CT["drawing"]}"/><Override PartName="/{chart_part}" ContentType='
                        f'"{_CT["chart"]}"/></Types>', 1)
        drawing, chart_xml = _chart_parts(sheet, rows, chart)
        rel = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns='
               '"http://schemas.openxmlformats.org/package/2006/relationships">'
               '<Relationship Id="rId1" Type="{}" Target="/{}"/></Relationships>')
        new.update({_rels_path(sheet_part): rel.format(_T_DRAWING, drawing_part).encode(),
                    drawing_part: drawing, chart_part: chart_xml,
                    _rels_path(drawing_part): rel.format(_NS_R + "/chart", chart_part).encode()})
    new.update({"xl/workbook.xml": wb_xml.encode("utf-8"),
                "xl/_rels/workbook.xml.rels": wb_rels.encode("utf-8"),
                "[Content_Types].xml": ct.encode("utf-8")})
    return new
