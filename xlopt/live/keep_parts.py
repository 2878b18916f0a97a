"""Put back into a LibreOffice-saved workbook the parts LibreOffice drops or rewrites.

LibreOffice keeps the cells, but not the rest as it was: it rebuilds the VBA binary, rewrites the
buttons (the legacy VML shapes, the `xl/ctrlProps` parts and their macro bindings - and a file it
saved once loses every button the next time it saves it), renumbers the drawings and charts, and
rewrites the defined names. `restore(original, saved, out)` writes `out`: the cells, styles and
strings of `saved` with, taken byte for byte from `original`,

- the VBA project (`xl/vbaProject.bin`),
- every part under xl/drawings/ (the chart anchors and the VML buttons), xl/charts/, xl/ctrlProps/
  and xl/media/, with their content types,
- each sheet's <drawing>, <legacyDrawing> and <controls> elements and their relationships,
- each sheet's <sheetViews> (a document loaded hidden has no view, so LibreOffice saves none: the
  frozen panel rows, the selection and the scroll position would be lost),
- the workbook's <definedNames> and <bookViews> (the sheet it opens on),
- the code names (`<workbookPr codeName>`, each sheet's `<sheetPr codeName>`) that tie the VBA
  project's document modules (ThisWorkbook, Sheet1, ...) to the workbook and its sheets; LibreOffice
  drops them.

An edit that only writes cell values (what `xlopt click` does) changes none of these, so the file
keeps them however many times it is saved; a saved-again file restores to the same parts.

Two callers: `xlopt click` after its headless save, and the installed LibreOffice script
(xlopt_lo.py) after the user's own File > Save in Calc (`restore_saved`, with the file's bytes as
they were when Calc opened it).
"""
import io
import os
import posixpath
import re
import zipfile

VBA_PART = "xl/vbaProject.bin"
KEPT_DIRS = ("xl/drawings/", "xl/charts/", "xl/ctrlProps/", "xl/media/")
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
SHEET_REL_TYPES = (REL_NS + "drawing", REL_NS + "vmlDrawing", REL_NS + "ctrlProp")
CT = "[Content_Types].xml"

_DRAWING = re.compile(r"<(drawing|legacyDrawing)\b[^>]*?(?:/>|>\s*</\1>)")
_CONTROLS = re.compile(
    r"<mc:AlternateContent\b[^>]*>\s*<mc:Choice\b[^>]*>\s*<controls>.*?</controls>\s*</mc:Choice>"
    r"(?:\s*<mc:Fallback>.*?</mc:Fallback>)?\s*</mc:AlternateContent>|<controls>.*?</controls>", re.S)
_REL = re.compile(r"<Relationship\b[^>]*?/>|<Relationship\b[^>]*>\s*</Relationship>", re.S)
_DEFINED = re.compile(r"<definedNames>.*?</definedNames>|<definedNames\s*/>", re.S)
_VIEWS = re.compile(r"<sheetViews>.*?</sheetViews>|<sheetViews\s*/>", re.S)
_BOOK_VIEWS = re.compile(r"<bookViews>.*?</bookViews>|<bookViews\s*/>", re.S)


def _attr(tag, name):
    m = re.search(rf'\b{name}="([^"]*)"', tag)
    return m.group(1) if m else None


def _rels_path(part):
    d, f = posixpath.split(part)
    return posixpath.join(d, "_rels", f + ".rels")


def _sheet_parts(files):
    """{sheet name: its part path} from workbook.xml and its relationships."""
    wb = files["xl/workbook.xml"].decode("utf-8")
    rels_xml = files.get("xl/_rels/workbook.xml.rels", b"").decode("utf-8")
    rels = {_attr(r, "Id"): _attr(r, "Target") for r in _REL.findall(rels_xml)}
    out = {}
    for tag in re.findall(r"<sheet\b[^>]*>", wb):
        rid = re.search(r'\br:id="([^"]*)"', tag) or re.search(r'\b\w+:id="([^"]*)"', tag)
        target = rels.get(rid.group(1)) if rid else None
        if target is None:
            continue
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        out[_unescape(_attr(tag, "name"))] = path
    return out


def _unescape(s):
    return (s or "").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'").replace("&amp;", "&")


def _kept_blocks(sheet_xml):
    """(drawing elements, controls blocks) of a sheet, in document order."""
    return [m.group(0) for m in _DRAWING.finditer(sheet_xml)], [m.group(0) for m in _CONTROLS.finditer(sheet_xml)]


def _insert_before(xml, block, tags):
    """Insert `block` before the first of `tags` (schema order), else before </worksheet>."""
    best, start = None, max(xml.find("</sheetData>"), 0)
    for t in tags:
        i = xml.find("<" + t, start)
        if i >= 0 and (best is None or i < best):
            best = i
    if best is None:
        best = xml.rindex("</worksheet>")
    return xml[:best] + block + xml[best:]


def _declare_prefixes(xml, block, original_root):
    """Add to xml's root the namespace declarations of prefixes `block` uses that it lacks."""
    m = re.search(r"<worksheet\b[^>]*>", xml)
    root = m.group(0)
    add = []
    for prefix in sorted(set(re.findall(r"</?(\w+):", block)) | set(re.findall(r"\s(\w+):\w+=", block))):
        if prefix in ("xmlns", "xml") or f"xmlns:{prefix}=" in root:
            continue
        decl = re.search(rf'\sxmlns:{prefix}="[^"]*"', original_root)
        if decl and decl.group(0) not in add:
            add.append(decl.group(0))
    if not add:
        return xml
    return xml[:m.start()] + root[:-1].rstrip("/") + "".join(add) + (" />" if root.endswith("/>") else ">") + xml[m.end():]


def _graft_sheet(orig_xml, orig_rels, new_xml, new_rels, n):
    """The new sheet XML and rels with the original's drawing/VML/controls elements and rels."""
    kept_rels = [r for r in _REL.findall(orig_rels) if _attr(r, "Type") in SHEET_REL_TYPES]
    drawings, controls = _kept_blocks(orig_xml)
    # drop what LibreOffice wrote in their place
    new_xml = _CONTROLS.sub("", _DRAWING.sub("", new_xml))
    others = [r for r in _REL.findall(new_rels) if _attr(r, "Type") not in SHEET_REL_TYPES]
    # fresh ids that cannot clash with LibreOffice's rIdN
    ids = {}
    for r in kept_rels:
        ids[_attr(r, "Id")] = f"xlkeep{n}_{len(ids) + 1}"
    rename = lambda s: re.sub(r'(\b\w+:id=")([^"]*)(")', lambda m: m.group(1) + ids.get(m.group(2), m.group(2)) + m.group(3), s)  # noqa: E731
    if drawings:
        block = "".join(rename(b) for b in drawings)
        new_xml = _insert_before(new_xml, block, ("legacyDrawingHF", "drawingHF", "picture", "oleObjects",
                                                  "mc:AlternateContent", "controls", "webPublishItems",
                                                  "tableParts", "extLst"))
    if controls:
        block = "".join(rename(b) for b in controls)
        new_xml = _insert_before(new_xml, block, ("webPublishItems", "tableParts", "extLst"))
    views = _VIEWS.search(orig_xml)
    if views and _VIEWS.search(new_xml):
        new_xml = _VIEWS.sub(lambda _: views.group(0), new_xml, count=1)
    root = re.search(r"<worksheet\b[^>]*>", orig_xml)
    new_xml = _declare_prefixes(new_xml, "".join(drawings + controls), root.group(0) if root else "")
    rels = others + [re.sub(r'\bId="[^"]*"', f'Id="{ids[_attr(r, "Id")]}"', r) for r in kept_rels]
    rels_xml = None
    if rels:
        rels_xml = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                    + "".join(rels) + "</Relationships>")
    return new_xml, rels_xml


def _code_name(xml, tag):
    m = re.search(rf"<{tag}\b[^>]*>", xml)
    return _attr(m.group(0), "codeName") if m else None


def _put_code_name(xml, tag, code, after):
    """`xml` whose <tag> carries codeName="code"; when it has no <tag>, one is added right after the
    first of the elements `after` that opens there (schema order)."""
    if code is None or _code_name(xml, tag) is not None:
        return xml
    m = re.search(rf"<{tag}\b[^>]*?(/?)>", xml)
    if m:
        head = m.group(0)
        cut = len(head) - len(m.group(1)) - 1
        return xml[:m.start()] + head[:cut] + f' codeName="{code}"' + head[cut:] + xml[m.end():]
    for before in after:
        m = re.search(rf"<{before}\b[^>]*>", xml)
        if m:
            return xml[:m.end()] + f'<{tag} codeName="{code}"/>' + xml[m.end():]
    return xml


def _content_types(orig, new):
    kept = lambda tag: (_attr(tag, "PartName") or "").lstrip("/").startswith(KEPT_DIRS)  # noqa: E731
    new_tags = re.findall(r"<(?:Default|Override)\b[^>]*/>", new)
    orig_tags = re.findall(r"<(?:Default|Override)\b[^>]*/>", orig)
    out = [t for t in new_tags if not (t.startswith("<Override") and kept(t))]
    have = {(_attr(t, "Extension") or "").lower() for t in out if t.startswith("<Default")}
    out[:0] = [t for t in orig_tags if t.startswith("<Default") and (_attr(t, "Extension") or "").lower() not in have]
    out += [t for t in orig_tags if t.startswith("<Override") and kept(t)]
    head = new[:new.index("<Types")]
    types = re.search(r"<Types\b[^>]*>", new).group(0)
    return head + types + "".join(out) + "</Types>"


def _read_all(path):
    """[(ZipInfo, bytes)] of a zip given as a path, bytes or a binary file."""
    with zipfile.ZipFile(io.BytesIO(path) if isinstance(path, bytes) else path) as z:
        return [(i, z.read(i.filename)) for i in z.infolist()]


def restore(original, saved, out):
    """Write `out`: `saved` (LibreOffice's) with `original`'s VBA, drawings, buttons, charts, names.

    original: a path or the file's bytes; saved, out: paths."""
    orig_list, new_list = _read_all(original), _read_all(saved)
    orig = {i.filename: d for i, d in orig_list}
    new = {i.filename: d for i, d in new_list}
    replaced = {}
    if VBA_PART in orig and VBA_PART in new:
        replaced[VBA_PART] = orig[VBA_PART]
    orig_sheets, new_sheets = _sheet_parts(orig), _sheet_parts(new)
    for n, (name, opart) in enumerate(sorted(orig_sheets.items()), start=1):
        npart = new_sheets.get(name)
        if npart is None or opart not in orig or npart not in new:
            continue
        sheet_xml, rels_xml = _graft_sheet(orig[opart].decode("utf-8"), orig.get(_rels_path(opart), b"").decode("utf-8"),
                                           new[npart].decode("utf-8"), new.get(_rels_path(npart), b"").decode("utf-8"), n)
        sheet_xml = _put_code_name(sheet_xml, "sheetPr", _code_name(orig[opart].decode("utf-8"), "sheetPr"), ("worksheet",))
        replaced[npart] = sheet_xml.encode("utf-8")
        if rels_xml is not None:
            replaced[_rels_path(npart)] = rels_xml.encode("utf-8")
    # sheets of the new file the original did not have a match for: drop their (LibreOffice) drawing rels
    for name, npart in new_sheets.items():
        if name not in orig_sheets and npart in new:
            sheet_xml, rels_xml = _graft_sheet("", "", new[npart].decode("utf-8"),
                                               new.get(_rels_path(npart), b"").decode("utf-8"), 0)
            replaced[npart] = sheet_xml.encode("utf-8")
            if rels_xml is not None:
                replaced[_rels_path(npart)] = rels_xml.encode("utf-8")
    wb_o, wb_n = orig["xl/workbook.xml"].decode("utf-8"), new["xl/workbook.xml"].decode("utf-8")
    names = _DEFINED.search(wb_o)
    if names:
        if _DEFINED.search(wb_n):
            wb_n = _DEFINED.sub(lambda _: names.group(0), wb_n, count=1)
        else:
            wb_n = wb_n.replace("</sheets>", "</sheets>" + names.group(0), 1)
    else:
        wb_n = _DEFINED.sub("", wb_n)
    book_views = _BOOK_VIEWS.search(wb_o)
    if book_views and _BOOK_VIEWS.search(wb_n):
        wb_n = _BOOK_VIEWS.sub(lambda _: book_views.group(0), wb_n, count=1)
    if _code_name(wb_n, "workbookPr") is None and _code_name(wb_o, "workbookPr") is not None:
        wb_n = _put_code_name(wb_n, "workbookPr", _code_name(wb_o, "workbookPr"), ("fileVersion", "workbook"))
    replaced["xl/workbook.xml"] = wb_n.encode("utf-8")
    if CT in orig and CT in new:
        replaced[CT] = _content_types(orig[CT].decode("utf-8"), new[CT].decode("utf-8")).encode("utf-8")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        written = set()
        for info, data in new_list:
            name = info.filename
            if name.startswith(KEPT_DIRS) and name not in orig:
                continue  # LibreOffice's renumbered copies
            if name.startswith(KEPT_DIRS):
                continue  # written from the original below
            if name in replaced:
                z.writestr(name, replaced[name], zipfile.ZIP_DEFLATED)
            else:
                z.writestr(info, data)
            written.add(name)
        for name, data in replaced.items():  # e.g. a rels file LibreOffice did not write
            if name not in written:
                z.writestr(name, data, zipfile.ZIP_DEFLATED)
                written.add(name)
        for info, data in orig_list:
            if info.filename.startswith(KEPT_DIRS) and info.filename not in written:
                z.writestr(info, data)
                written.add(info.filename)


LOCK_TIMEOUT_S = 30


def restore_saved(original, path, lock_timeout_s=LOCK_TIMEOUT_S):
    """Put `original`'s parts (bytes of the file as it was opened) back into `path`, a file LibreOffice
    has just saved: under xlopt's workbook lock, through a temp file, keeping the saved file's
    modification time (LibreOffice compares it before its next save of the open document)."""
    from xlopt.core import locks
    from xlopt.core.atomic import replacing
    with locks.locked(path, lock_timeout_s, "workbook"):
        st = os.stat(path)
        with replacing(path, keep_suffix=True) as tmp:
            restore(original, path, tmp)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
