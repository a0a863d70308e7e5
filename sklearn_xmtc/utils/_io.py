"""File helpers: atomic writes (a reader never sees a half-written file) and line reading."""

from __future__ import annotations

import os
import tempfile

__all__ = ["atomic_write_text", "iter_text_lines"]


def atomic_write_text(path, text, encoding="utf-8"):
    """Write ``text`` to ``path`` through a temporary file in the same folder."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "w", encoding=encoding) as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def iter_text_lines(path):
    """``(line number, line)`` of the non-blank lines of a UTF-8 text file (1-based,
    line ends stripped), for the readers of ``label<TAB>...`` files."""
    with open(path, encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, start=1):
            line = raw.rstrip("\r\n")
            if line.strip():
                yield lineno, line
