"""What every chart the lab writes shares: LibreOffice's reading of XlsxWriter's charts, and colours."""

# a qualitative palette: ten colours told apart on screen and by most colour-blind readers
PALETTE = ("#1F77B4", "#FF7F0E", "#2CA02C", "#D62728", "#9467BD", "#8C564B", "#E377C2", "#17BECF",
           "#BCBD22", "#7F7F7F")


def explicit(chart):
    """XlsxWriter leaves out what Excel assumes (blanks as gaps, straight lines), but LibreOffice reads
    the schema's defaults (blanks as zero: a false point at (0, 0); scatter lines smoothed): write
    both elements always (XlsxWriter's own writers of them, made unconditional)."""
    chart._write_disp_blanks_as = lambda: chart._xml_empty_tag("c:dispBlanksAs", [("val", chart.show_blanks)])
    chart._write_c_smooth = lambda smooth: chart._xml_empty_tag("c:smooth", [("val", "1" if smooth else "0")])
    return chart


def colour(k):
    return PALETTE[k % len(PALETTE)]


def dash(k):
    """Solid for the first ten series, dashed after: no two series look alike."""
    return None if k < len(PALETTE) else "dash"
