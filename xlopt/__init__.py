"""xlopt: fast.ai's graddesc workbook as an engine, a workbook generator and Excel/LibreOffice buttons."""
__version__ = "0.1.0"
