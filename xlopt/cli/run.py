"""`xlopt run` and `xlopt show`: press the buttons headless, and print the pass a sheet shows."""
import io
import json
import sys

from xlopt.core import runner
from xlopt.core.report import _cell, _csv, emit, pass_rows, table
from xlopt.core.runner import add_arguments_run, add_arguments_show, open_book

__all__ = ["add_arguments_run", "add_arguments_show", "main_run", "main_show"]


def main_run(args):
    emit(runner.run(args), args.format)
    return 0


def main_show(args):
    book, carry = open_book(args)
    rows, keys, titles = pass_rows(book)
    if args.format == "json":
        json.dump({"sheet": book.sheet.name, "carry": carry, "columns": dict(zip(keys, titles)),
                   "rows": rows, "summary": book.pass_.summary}, sys.stdout)
        sys.stdout.write("\n")
    elif args.format == "csv":
        buf = io.StringIO()
        _csv(rows, keys, buf)
        sys.stdout.write(buf.getvalue())
    else:
        sys.stdout.write(table(rows, keys, titles))
        sys.stdout.write("  ".join(f"{k} = {_cell(v)}" for k, v in book.pass_.summary.items()) + "\n")
    return 0
