"""Write a file so that readers see the old content or the new, never half of it."""
import os
import tempfile
from contextlib import contextmanager


@contextmanager
def replacing(path, keep_suffix=False):
    """Yield a temp path beside `path`; it replaces `path` only if the block finishes.

    keep_suffix: the temp name ends like `path` (.xlsx, .xlsm), for writers that choose the format
    by the file name (XlsxWriter, LibreOffice's filters).
    """
    path = os.path.abspath(path)
    d = os.path.dirname(path)
    stem, suffix = os.path.splitext(os.path.basename(path))
    fd, tmp = tempfile.mkstemp(prefix=".~" + (stem if keep_suffix else stem + suffix),
                               suffix=suffix if keep_suffix else "", dir=d)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, (os.stat(path).st_mode & 0o777) if os.path.exists(path) else 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text(path, text):
    with replacing(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
