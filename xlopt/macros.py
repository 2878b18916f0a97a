"""The Run and Reset buttons as macros: Excel calls `run()` / `reset()` through xlwings' RunPython.

Both are thin: they take the caller's active sheet and hand it to `xlopt.live.press.press`, which
every back end shares (`xlopt click` calls it with a LibreOffice book).
"""
from xlopt.core.errors import XloptError
from xlopt.live.press import press


# --- the macros RunPython calls --------------------------------------------------------------------
def run():
    """Run: five epochs on the active sheet of the workbook that called."""
    _excel("run")


def reset():
    """Reset: a = b = 1 and the sheet's warm-up passes, on the active sheet of the workbook that called."""
    _excel("reset")


def _excel(button):
    import xlwings as xw
    from xlopt.live.xlwings_book import XlwingsBook, workbook_carry

    wb = xw.Book.caller()
    sheet = wb.sheets.active
    app = wb.app
    try:
        app.status_bar = f"xlopt: {button} on {sheet.name} ..."
        press(XlwingsBook(sheet), button, carry=workbook_carry(wb))
        app.status_bar = False  # Excel's own status text again
    except XloptError as e:
        app.status_bar = f"xlopt: {e}"
        show_error(app, str(e))


def show_error(app, message):
    """One message box (xlwings' App.alert); where alerts are unavailable, raise: RunPython shows it."""
    try:
        app.alert(message, title="xlopt", mode="critical")
    except Exception:
        raise XloptError(message) from None


