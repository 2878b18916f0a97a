"""`xlopt gallery`'s files: one picture per problem (every sheet's path at its tuned lr on f's true
contours), the table as Markdown and CSV, and optionally a sheet `gallery` in an existing workbook.

The numbers are `xlopt.core.gallery`'s; the paths are `plots.trace` at each tuned lr (the engine's).
Every file is written through a temp file beside it (xlopt.core.atomic), the workbook under its lock.
"""
import csv
import io
import math
import os

from xlopt.core import gallery, problems, zip_parts
from xlopt.core.atomic import replacing, write_text
from xlopt.core.errors import BadInput

SHEET = "gallery"  # the workbook sheet's name
CSV_KEYS = ("problem", "sheet", "setting", "lr", "final_lr", "loss", "x", "y", "distance", "within_epoch",
            "diverged_epoch", "diverged_row")


def caption(budget, epochs):
    e = gallery.lr_exponents(budget)
    return (f"lr tuned per optimizer, equal budget of {budget} runs × {epochs} epochs (own lr·10^e, e = {e[0]:g} … "
            f"{e[-1]:g}, chosen by the final loss); toy problems do not choose optimizers for real networks")


def files(folder, probs):
    """The paths the gallery writes in `folder`."""
    return [os.path.join(folder, f"{p}.png") for p in probs] + [os.path.join(folder, n)
                                                                for n in ("gallery.md", "gallery.csv")]


def check_outputs(folder, probs, workbook=None):
    """-o DIR: an existing folder, or a new one whose parent exists (made only once all is checked);
    none of the files it will write may be a folder; --workbook an existing workbook."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise BadInput(f"-o {folder} is a file; give a folder (it is made if it does not exist)")
    parent = os.path.dirname(os.path.abspath(folder))
    if not os.path.isdir(parent):
        raise BadInput(f"cannot make -o {folder}: folder {parent} does not exist")
    for f in files(folder, probs):
        if os.path.isdir(f):
            raise BadInput(f"cannot write {f}: it is a folder")
    if workbook:
        from xlopt.writers import graft
        graft.check_target(workbook)


# --- the table ------------------------------------------------------------------------------------
def rows(entries):
    """One dict a (problem, sheet, setting): the tuned result first, then the default."""
    out = []
    for e in entries:
        for setting, o in (("tuned", e.tuned), ("default", e.default)):
            out.append({"problem": e.problem, "sheet": e.sheet, "setting": setting, "lr": o.lr,
                        "final_lr": o.final_lr, "loss": o.loss, "x": o.x, "y": o.y, "distance": o.distance,
                        "within_epoch": o.within,
                        "diverged_epoch": o.diverged[0] if o.diverged else None,
                        "diverged_row": o.diverged[1] if o.diverged else None})
    return out


def csv_text(entries):
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_KEYS)
    for r in rows(entries):
        w.writerow(["" if r[k] is None or (isinstance(r[k], float) and math.isnan(r[k])) else
                    repr(r[k]) if isinstance(r[k], float) else r[k] for k in CSV_KEYS])
    return out.getvalue()


def _g(v, digits=3):
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}g}"


def _outcome_cells(o):
    if o.diverged:
        return ["diverged", "-", f"epoch {o.diverged[0]}, step {o.diverged[1]}"]
    return [_g(o.loss), _g(o.distance, 2), str(o.within) if o.within else "never"]


def definitions(budget, epochs):
    return [
        f"- **lr**: each optimizer's own lr on the problem (`xlopt run SHEET --problem P`) and a grid of {budget} "
        f"around it, own·10^e for e = {', '.join(f'{e:g}' for e in gallery.lr_exponents(budget))}; each run "
        f"{epochs} epochs (29 steps each) from Reset by one sweep. "
        "**tuned**: the grid's lowest final loss (a diverged run loses; losses whose excess over the minimum's f "
        f"agrees to a relative {gallery.TIE:g} are equal, and of those the lr nearest the own one is taken). The own "
        "lr is on the grid, so tuned ≤ default.",
        "- **loss**: the sheet's loss cell after the last epoch, as `xlopt run` logs it: the mean of f over the "
        "epoch's 29 steps.",
        "- **distance**: from the final (x, y) to the nearest true minimum.",
        f"- **within at**: the first epoch whose loss is within {gallery.TOLERANCE:g} of f at the true minimum.",
        "- **diverged**: the epoch and step where the values stopped being finite (`xlopt run` exits 3 there).",
        "- Toy problems do not choose optimizers for real networks: a two-parameter function shows how an "
        "optimizer moves, not which one trains a network best.",
    ]


def markdown(entries, budget, epochs, carry="lesson"):
    lines = ["# Gallery: every optimizer on every problem at its own tuned lr", "",
             f"{caption(budget, epochs).capitalize()}. {carry.capitalize()} carry. Written by "
             f"`xlopt gallery --budget {budget} --epochs {epochs}`.", ""]
    lines += definitions(budget, epochs) + [""]
    for name in dict.fromkeys(e.problem for e in entries):
        p = problems.get(name)
        lines += [f"## {name}", "", f"`{p.formula}`, from ({p.start[0]:g}, {p.start[1]:g}); minimum "
                  + ", ".join(f"({b:g}, {a:g})" for b, a in p.minima) + f", f = {gallery.f_min(p):g}.", "",
                  f"![{name}: every optimizer's path at its tuned lr]({name}.png)", "",
                  "| sheet | tuned lr | loss | distance | within at | own lr | loss | distance | within at |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for e in entries:
            if e.problem != name:
                continue
            cells = [e.sheet, _g(e.tuned.lr)] + _outcome_cells(e.tuned) + [_g(e.default.lr)] + _outcome_cells(e.default)
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


# --- the pictures ---------------------------------------------------------------------------------
def picture(problem, entries, paths, out, budget, epochs):
    """One problem's panel: every sheet's path at its tuned lr; the legend says what its own lr did."""
    from xlopt.writers import plots_fn
    notes = {}
    for e in entries:
        d = e.default
        own = ("diverged" if d.diverged else f"loss {d.loss:.3g}")
        notes[e.sheet] = f"tuned from its own lr {d.lr:.3g} ({own})" if e.tuned.lr != d.lr else \
            "its own lr was the best of the grid"
    title = (f"{problem.name}: {problem.formula}\nevery optimizer's path at its tuned lr, {epochs} epochs of Run "
             f"(29 steps each) from Reset")
    with replacing(out, keep_suffix=True) as tmp:
        plots_fn.draw(paths, problem, tmp, "png", title, caption(budget, epochs), notes)


# --- the workbook sheet ---------------------------------------------------------------------------
def render(entries, budget, epochs):
    """The table as a one-sheet .xlsx (bytes), for `graft.graft_changes`."""
    import xlsxwriter
    bio = io.BytesIO()
    wb = xlsxwriter.Workbook(bio, {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                                   "nan_inf_to_errors": True})
    ws = wb.add_worksheet(SHEET)
    bold = wb.add_format({"bold": True, "font_size": 13})
    note = wb.add_format({"italic": True, "font_color": "#595959"})
    head = wb.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1})
    num = wb.add_format({"num_format": "0.000E+00", "border": 1})
    cell = wb.add_format({"border": 1})
    ws.write_string(0, 0, "Gallery: every optimizer on every problem at its own tuned lr", bold)
    ws.write_string(1, 0, caption(budget, epochs), note)
    for i, line in enumerate(definitions(budget, epochs)):
        ws.write_string(2 + i, 0, line.lstrip("- ").replace("**", "").replace("`", ""), note)
    top = 3 + len(definitions(budget, epochs))
    for j, k in enumerate(CSV_KEYS):
        ws.write_string(top, j, k, head)
    for i, r in enumerate(rows(entries), start=top + 1):
        for j, k in enumerate(CSV_KEYS):
            v = r[k]
            if v is None or (isinstance(v, float) and math.isnan(v)):
                ws.write_blank(i, j, None, cell)
            elif isinstance(v, str):
                ws.write_string(i, j, v, cell)
            else:
                ws.write_number(i, j, v, num if isinstance(v, float) else cell)
    ws.set_column(0, 2, 12)
    ws.set_column(3, len(CSV_KEYS) - 1, 13)
    ws.autofilter(top, 0, top + len(entries) * 2, len(CSV_KEYS) - 1)
    ws.freeze_panes(top + 1, 0)
    wb.close()
    return bio.getvalue()


def add_to(path, entries, budget, epochs, lock_timeout_s=None):
    """Add or replace sheet `gallery` in the workbook at `path` (under its lock, atomically)."""
    from xlopt.writers import graft
    graft.check_target(path)
    new = render(entries, budget, epochs)
    return zip_parts.update(path, lambda parts: graft.graft_changes(parts, new, SHEET), lock_timeout_s)


def write(folder, entries, paths, budget, epochs, carry="lesson"):
    """Every file in `folder` (made if it is new): the pictures, gallery.md, gallery.csv."""
    os.makedirs(folder, exist_ok=True)
    written = []
    for name in dict.fromkeys(e.problem for e in entries):
        mine = [e for e in entries if e.problem == name]
        out = os.path.join(folder, f"{name}.png")
        picture(problems.get(name), mine, paths[name], out, budget, epochs)
        written.append(out)
    for fname, text in (("gallery.md", markdown(entries, budget, epochs, carry)), ("gallery.csv", csv_text(entries))):
        write_text(os.path.join(folder, fname), text)
        written.append(os.path.join(folder, fname))
    return written
