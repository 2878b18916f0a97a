"""Workbook writers: the formula printer, the workbook builder, the macro-enabled workbook and its VBA.

They read the core (sheet definitions, rules, engine) and never the live back ends or the CLI.
"""
