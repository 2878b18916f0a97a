"""A faithful replica of the lesson's own graddesc.xlsm, written from the spec's description of the
file as it is saved (../shared/graddesc-spec.md, last section) — not from xlopt's builder.

Formulas use addresses, not names; (1−β) is the cell K1 = 1−J1 (M1 = 1−L1); the sheets carry only
the lesson's names, including the broken ones (#REF!); rmsprop and the adams have no error column;
the first sheet is `Sheet1`; the top values, lr and targets are left mid-training. Each optimizer
sheet has the lesson's two form buttons, bound to `<sheet>.somesteps` and `<sheet>.reset`, stored as
legacy VML shapes and as xl/ctrlProps parts. The lesson's VBA project itself cannot be produced
here (no Excel): the replica embeds xlwings' template project as its stand-in, so a test can check
that a save keeps the VBA bytes.
"""
import os
import re
import zipfile

from xlopt.core import sheets

N = 29
FIRST, LAST, SUM = 4, 32, 33
X = [float(v) for v in sheets.LESSON_X]
Y = [30 + 2 * v for v in X]
# what the last clicks left (mid-training): top values, lr, targets, prev_grad2
LEFT = {
    "basic": {"C1": 1.4, "C2": 2.1, "F1": 0.0001},
    "momentum": {"C1": 3.2, "C2": 2.3, "D2": 0.0001, "J33": -1.5, "K33": 12.25},
    "rmsprop": {"C1": 12.0, "C2": 2.2, "D2": 0.02, "J33": 40.5, "K33": 90210.0},
    "adam": {"C1": 20.0, "C2": 2.05, "D2": 0.1, "J33": 0.3, "K33": -2.0, "L33": 30.0, "M33": 9000.0},
    "adam_ann": {"C1": 29.0, "C2": 2.01, "D2": 0.00390625, "J33": 0.1, "K33": 0.7, "L33": 1.5,
                 "M33": 700.0, "N3": 20.0},
}


def _names(name):
    """The lesson's sheet-scoped names, exactly (broken ones as #REF!)."""
    d = {"const": "$C$1", "slope": "$C$2", "lastconst": f"$C${LAST}", "lastslope": f"$D${LAST}"}
    if name == "basic":
        d.update(rmse=f"$F${SUM}", rmsestart="$C$36", rmses="$C$38:$C$106", gradtarget="$K$1:$L$1",
                 histgrad=f"$K${SUM}:$L${SUM}")
        return d
    d["histgrad"] = f"$F${SUM}:$G${SUM}"
    if name != "rmsprop":
        d["lr"] = "$D$2"
    if name == "momentum":
        d.update(momlast=f"$J${LAST}:$K${LAST}", momtarget=f"$J${SUM}:$K${SUM}", max_clipped="$M$34",
                 pct_clipped="$M$33", gradtarget="#REF!", ms_last="#REF!")
    elif name == "rmsprop":
        d.update(ms_last=f"$J${LAST}:$K${LAST}", gradtarget=f"$J${SUM}:$K${SUM}", max_clipped="$K$34",
                 pct_clipped="#REF!")
    else:
        d.update(momlast=f"$J${LAST}:$K${LAST}", momtarget=f"$J${SUM}:$K${SUM}", ms_last=f"$L${LAST}:$M${LAST}",
                 gradtarget=f"$L${SUM}:$M${SUM}", max_clipped="$O$34", pct_clipped="$O$33")
    if name == "adam_ann":
        d.update(avg_grad2=f"$N${SUM}", gradrat="$N$34", prev_grad2="$N$3")
    return d


def _row(name, r):
    """The formulas of data row r, as the lesson writes them."""
    p = r - 1
    carried = {"C": "=C1", "D": "=C2"} if r == FIRST else (
        {"C": f"=N{p}", "D": f"=M{p}"} if name == "basic" else {"C": f"=H{p}", "D": f"=I{p}"})
    if name == "basic":
        return dict(carried, E=f"=C{r}+D{r}*A{r}", F=f"=(B{r}-E{r})^2", G=f"=(((C{r}+0.01)+A{r}*D{r})-B{r})^2",
                    H=f"=(G{r}-F{r})/0.01", I=f"=(((D{r}+0.01)*A{r}+C{r})-B{r})^2", J=f"=(I{r}-F{r})/0.01",
                    K=f"=2*(E{r}-B{r})", L=f"=K{r}*A{r}", M=f"=D{r}-L{r}*$F$1", N=f"=C{r}-K{r}*$F$1")
    f = dict(carried, E=f"=C{r}+D{r}*A{r}", F=f"=2*(D{r}*A{r}+C{r}-B{r})", G=f"=F{r}*A{r}")
    if name == "momentum":
        f.update(J=f"=J{p}*$J$1+$K$1*F{r}", K=f"=K{p}*$J$1+$K$1*G{r}", H=f"=C{r}-J{r}*$D$2",
                 I=f"=D{r}-K{r}*$D$2", L=f"=(B{r}-E{r})^2")
    elif name == "rmsprop":
        f.update(H=f"=C{r}-F{r}*$D$2/SQRT(J{p})", I=f"=D{r}-G{r}*$D$2/SQRT(K{p})",
                 J=f"=J{p}*$J$1+$K$1*F{r}^2", K=f"=K{p}*$J$1+$K$1*G{r}^2")
    else:
        f.update(J=f"=J{p}*$J$1+$K$1*F{r}", K=f"=K{p}*$J$1+$K$1*G{r}", L=f"=L{p}*$L$1+$M$1*F{r}^2",
                 M=f"=M{p}*$L$1+$M$1*G{r}^2", H=f"=C{r}-J{r}*$D$2/SQRT(L{r})", I=f"=D{r}-K{r}*$D$2/SQRT(M{r})")
    return f


def _optimizer_sheet(wb, ws, name):
    left = LEFT[name]
    if name == "basic":
        ws.write("B1", "intercept")
        ws.write("E1", "learn")
        ws.write("I1", "de/db = 2(b + a x - y)")
        ws.write("I2", "de/da = x de/db")
        ws.write("H2", "derivatives")
        heads = ["x", "y", "intercept", "slope", "y_pred", "err^2", "errb1", "est de/db", "erra1",
                 "est de/da", "de/db", "de/da", "new a", "new b"]
    else:
        ws.write("B1", "b")
        ws.write("B2", "a")
        ws.write("D1", "learn")
        if name != "rmsprop":
            ws.write("I1", "beta")
        heads = ["x", "y", "b", "a", "pred", "de/db", "de/da", "new b", "new a"]
    for j, h in enumerate(heads):
        ws.write(2, j, h)
    for cell, v in left.items():
        ws.write_number(cell, v)
    if name != "basic":
        ws.write_number("J1", 0.9)
        ws.write_formula("K1", "=1-J1", None, 0.1)
    if name in ("adam", "adam_ann"):
        ws.write_number("L1", 0.95 if name == "adam_ann" else 0.9)
        ws.write_formula("M1", "=1-L1", None, 0.05 if name == "adam_ann" else 0.1)
    state = {"momentum": "JK", "rmsprop": "JK", "adam": "JKLM", "adam_ann": "JKLM"}.get(name, "")
    for c in state:
        ws.write_formula(f"{c}3", f"={c}{SUM}")
    if name == "momentum":
        ws.write("L3", "err^2")
    for i in range(N):
        r = FIRST + i
        ws.write_number(f"A{r}", X[i])
        ws.write_number(f"B{r}", Y[i])
        for col, formula in _row(name, r).items():
            ws.write_formula(f"{col}{r}", formula)
    rng = f"{FIRST}:{{}}{LAST}"
    if name == "basic":
        ws.write("E33", "rmse")
        ws.write_formula("F33", f"=SQRT(SUM(F{rng.format('F')}))")
        ws.write_formula("K33", f"=SQRT(SUMSQ(K{rng.format('K')}))")
        ws.write_formula("L33", f"=SQRT(SUMSQ(L{rng.format('L')}))")
        ws.write("C36", "Paste error here:")
        ws.write("C37", "rmse")
        for i, v in enumerate((152.3, 101.7, 88.0)):  # the log left by earlier clicks
            ws.write_number(f"C{38 + i}", v)
        chart = wb.add_chart({"type": "line"})
        chart.add_series({"values": "=basic!$C$38:$C$106", "name": "rmse"})
        chart.set_title({"name": "Error by epoch"})
        ws.insert_chart("P3", chart)
    elif name == "momentum":
        ws.write_formula("L33", f"=SQRT(SUM(L{rng.format('L')}))")
    elif name == "adam_ann":
        ws.write_formula("F33", f"=SQRT(SUMSQ(F{rng.format('F')}))/COUNT(F{rng.format('F')})")
        ws.write_formula("G33", f"=SQRT(SUMSQ(G{rng.format('G')}))/COUNT(G{rng.format('G')})")
        ws.write_formula("N33", "=SQRT(L33)+SQRT(M33)")
        ws.write_formula("N34", "=avg_grad2/prev_grad2")
        ws.write_formula("K34", "=1/K3")
        ws.write_formula("L34", "=1/L3")
    for n, ref in _names(name).items():
        wb.define_name(f"{name}!{n}", f"={name}!{ref}" if ref != "#REF!" else "=#REF!")
    if wb.vba_project:
        for i, (caption, sub) in enumerate((("Run", "somesteps"), ("Reset", "reset"))):
            ws.insert_button("P1", {"macro": f"{name}.{sub}", "caption": caption, "width": 80, "height": 30,
                                    "x_offset": 4 + i * 90})


def write(path):
    """Write the replica to `path` (.xlsx, or .xlsm with the stand-in VBA project and the buttons)."""
    import io

    import xlsxwriter

    macros = path.lower().endswith(".xlsm")
    wb = xlsxwriter.Workbook(path)
    if macros:
        from xlopt.writers import xlsm
        wb.add_vba_project(io.BytesIO(xlsm._template_bin(xlsm.template_path())), is_stream=True)
    ws = wb.add_worksheet("Sheet1")
    ws.write("A1", "Gradient descent in a spreadsheet: press the buttons on each sheet.")
    ws.write("A2", "Reset starts over; Run does five epochs.")
    ws = wb.add_worksheet("data")
    for cell, v in (("A1", "b"), ("B1", "const"), ("A2", "a"), ("B2", "slope"), ("B4", "x"), ("C4", "y")):
        ws.write(cell, v)
    ws.write_number("C1", 30)
    ws.write_number("C2", 2)
    for i in range(N):
        ws.write_formula(f"B{5 + i}", "=RANDBETWEEN(1,100)", None, X[i])
        ws.write_formula(f"C{5 + i}", f"=$C$1+B{5 + i}*$C$2", None, Y[i])
    for name in sheets.LESSON_SHEETS:
        _optimizer_sheet(wb, wb.add_worksheet(name), name)
    wb.close()
    if macros:
        _add_ctrl_props(path)
    return path


def _add_ctrl_props(path):
    """Store each button also as a form control part (xl/ctrlProps/ctrlPropN.xml) named from the sheet
    XML, as Excel saves them beside the legacy VML shapes."""
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i.filename) for i in z.infolist()}
    types = parts["[Content_Types].xml"].decode()
    k = 0
    for sheet_part in sorted(p for p in parts if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", p)):
        rels_part = sheet_part.replace("worksheets/", "worksheets/_rels/") + ".rels"
        if rels_part not in parts or b"vmlDrawing" not in parts[rels_part]:
            continue
        rels = parts[rels_part].decode()
        vml_name = re.search(r'Target="\.\./drawings/(vmlDrawing\d+\.vml)"', rels).group(1)
        shapes = re.findall(r'<v:shape id="_x0000_s(\d+)".*?<x:FmlaMacro>([^<]*)</x:FmlaMacro>',
                            parts["xl/drawings/" + vml_name].decode(), re.S)
        controls = []
        for shape_id, macro in shapes:
            k += 1
            rid = f"rIdCtrl{k}"
            parts[f"xl/ctrlProps/ctrlProp{k}.xml"] = (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<formControlPr xmlns="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main" '
                'objectType="Button" lockText="1"/>').encode()
            rels = rels.replace("</Relationships>", f'<Relationship Id="{rid}" Type="http://schemas.'
                                "openxmlformats.org/officeDocument/2006/relationships/ctrlProp\" "
                                f'Target="../ctrlProps/ctrlProp{k}.xml"/></Relationships>')
            controls.append(f'<control shapeId="{shape_id}" r:id="{rid}" name="Button {shape_id}">'
                            f'<controlPr defaultSize="0" print="0" autoFill="0" autoPict="0" macro="{macro}">'
                            '<anchor moveWithCells="1" sizeWithCells="1"><from><xdr:col>15</xdr:col>'
                            '<xdr:colOff>0</xdr:colOff><xdr:row>0</xdr:row><xdr:rowOff>0</xdr:rowOff></from>'
                            '<to><xdr:col>16</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>1</xdr:row>'
                            '<xdr:rowOff>0</xdr:rowOff></to></anchor></controlPr></control>')
            types = types.replace("</Types>", f'<Override PartName="/xl/ctrlProps/ctrlProp{k}.xml" '
                                  'ContentType="application/vnd.ms-excel.controlproperties+xml"/></Types>')
        parts[rels_part] = rels.encode()
        xml = parts[sheet_part].decode()
        xml = xml.replace("<worksheet ", '<worksheet xmlns:xdr="http://schemas.openxmlformats.org/'
                          'drawingml/2006/spreadsheetDrawing" ', 1)
        block = '<mc:AlternateContent xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006">' \
                '<mc:Choice Requires="x14"><controls>' + "".join(controls) + \
                "</controls></mc:Choice></mc:AlternateContent>"
        xml = xml.replace("</worksheet>", block + "</worksheet>") if "<legacyDrawing" not in xml else \
            re.sub(r"(<legacyDrawing [^>]*/>)", lambda m, b=block: m.group(1) + b, xml, count=1)
        parts[sheet_part] = xml.encode()
    parts["[Content_Types].xml"] = types.encode()
    tmp = path + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    os.replace(tmp, path)


def buttons_of(path):
    """{sheet xml part: sorted macro names} from the VML shapes and, separately, the ctrlProps controls."""
    out = {"vml": {}, "ctrl": {}, "vba": None}
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        for p in names:
            if p.startswith("xl/drawings/vmlDrawing"):
                out["vml"][p] = sorted(re.findall(r"<x:FmlaMacro>([^<]*)</x:FmlaMacro>", z.read(p).decode()))
            if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", p):
                macros = re.findall(r'<controlPr [^>]*macro="([^"]*)"', z.read(p).decode())
                if macros:
                    out["ctrl"][p] = sorted(macros)
        out["ctrlprops"] = sorted(p for p in names if p.startswith("xl/ctrlProps/"))
        out["vba"] = z.read("xl/vbaProject.bin") if "xl/vbaProject.bin" in names else None
    return out
