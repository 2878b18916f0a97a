"""The one writer of a user's workbook zip: change some parts, keep every other part byte for byte.

    zip_parts.update(path, edit, lock_timeout_s=None)

`edit(parts)` gets {part name: bytes} of the workbook as it is now and returns {part name: new
bytes, or None to remove it}. The whole read-modify-write holds the workbook lock
(xlopt.core.locks, the one `xlopt click`, `sweep --workbook`, `torch-side compare --workbook` and
`reproduce --workbook` share), so two writers at once both land; the result goes to a temp file
beside the workbook and replaces it (xlopt.core.atomic), so a reader sees the old file or the new,
never half. Every part `edit` does not name is copied as it was, with its name, place, date,
compression and attributes: formulas and their cached values, names, styles, charts, the VBA
project and its buttons. No spreadsheet library loads and saves the workbook.
"""
import io
import os
import time
import zipfile

from xlopt.core import locks
from xlopt.core.atomic import replacing
from xlopt.core.errors import BadInput

NEW_DATE = (2024, 1, 1, 0, 0, 0)  # a fixed date for added parts: the same inputs give the same bytes
# tests only: seconds to keep each read-modify-write open, so that writers started at once overlap
# (tests/test_workbook_writers.py shows that they then both land, and that without the lock they do not)
HOLD_ENV = "XLOPT_TEST_HOLD_S"


def read(source, name=None):
    """{part name: bytes} of a workbook zip (a path or a binary file), or BadInput naming the file."""
    try:
        with zipfile.ZipFile(source) as z:
            return {i.filename: z.read(i) for i in z.infolist()}
    except (zipfile.BadZipFile, OSError, KeyError, EOFError) as e:
        raise BadInput(f"{name or source} is not a readable .xlsx/.xlsm workbook ({e})") from None


def rewrite(data, changes):
    """The zip `data` (bytes) with `changes` applied ({name: bytes | None}); every other part as it was."""
    changes = dict(changes)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            name = info.filename
            if name in changes:
                new = changes.pop(name)
                if new is None:
                    continue
                zi = zipfile.ZipInfo(name, date_time=info.date_time)
                zi.compress_type, zi.external_attr = zipfile.ZIP_DEFLATED, info.external_attr
                dst.writestr(zi, new)
            else:
                dst.writestr(info, src.read(info))  # same name, date, compression, attributes, bytes
        for name, new in changes.items():  # added parts, after the existing ones
            if new is not None:
                zi = zipfile.ZipInfo(name, date_time=NEW_DATE)
                zi.compress_type = zipfile.ZIP_DEFLATED
                dst.writestr(zi, new)
    return out.getvalue()


def update(path, edit, lock_timeout_s=None, new=None):
    """Apply `edit` to the workbook at `path` under its lock, through a temp file (see the top).

    new: when given and no file is there (checked under the lock), `new()` returns the bytes of a
    fresh workbook to write instead; without it a missing file is BadInput."""
    path = os.path.abspath(path)
    with locks.locked(path, lock_timeout_s, "workbook"):
        if new is not None and not os.path.exists(path):
            _write(path, new())
            return path
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise BadInput(f"cannot read {path}: {e.strerror or e}") from None
        changes = edit(read(io.BytesIO(data), path))
        _hold()
        _write(path, rewrite(data, changes))
    return path


def _hold():
    seconds = os.environ.get(HOLD_ENV)
    if seconds:
        time.sleep(float(seconds))


def _write(path, data):
    try:
        with replacing(path, keep_suffix=True) as tmp:
            with open(tmp, "wb") as f:
                f.write(data)
    except OSError as e:
        raise BadInput(f"cannot write {path}: {e.strerror or e}") from None
