"""Live back ends: a workbook open in LibreOffice (UNO) or Excel (xlwings), behind one book interface,
and the checked press-then-write-then-restore procedure the buttons share.

They read the core and the writers (the expected cells of `xlopt check`), never the CLI.
"""
