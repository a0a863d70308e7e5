"""File helpers: atomic writes (a reader never sees a half-written file) and line reading."""

from __future__ import annotations

import gzip
import os
import tempfile

__all__ = ["atomic_write_text", "iter_lines", "iter_text_lines", "read_text"]

_UTF8_HINT = ("the data files must be UTF-8: re-encode the file, e.g. "
              "`iconv -f latin1 -t utf-8 FILE > FILE.utf8` for a latin-1 file")


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


def _open(path, mode):
    """``open`` or, for a ``.gz`` name, ``gzip.open`` (text modes read UTF-8)."""
    opener = gzip.open if os.fspath(path).endswith(".gz") else open
    if "b" in mode:
        return opener(path, mode)
    return opener(path, mode, encoding="utf-8")


def _utf8_error(path):
    """The ValueError for a file that is not valid UTF-8, naming the first bad line and
    its byte offset (found by a second, binary pass: the text pass only knows the chunk)."""
    where = "of the uncompressed data" if os.fspath(path).endswith(".gz") else "in the file"
    offset = 0
    with _open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):  # b"\n" never ends a multi-byte char
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                bad = raw[exc.start:exc.start + 4]
                return ValueError(
                    f"{os.fspath(path)}:{lineno}: not valid UTF-8 at byte offset "
                    f"{offset + exc.start} {where} (byte {exc.start + 1} of the line, "
                    f"{bad!r}...: {exc.reason}); {_UTF8_HINT}.")
            offset += len(raw)
    return ValueError(f"{os.fspath(path)}: not valid UTF-8; {_UTF8_HINT}.")


def iter_lines(path):
    """``(line number, line)`` of every line of a UTF-8 text file (plain or ``.gz``).

    Line numbers are 1-based and line ends are kept; a UTF-8 byte order mark at
    the start of the file is dropped (it would otherwise stick to the first
    field).

    Parameters
    ----------
    path : str or path-like
        The file; a name ending in ``.gz`` is read through gzip.

    Yields
    ------
    lineno : int
    line : str

    Raises
    ------
    ValueError
        If the file is not valid UTF-8: the message names the file, the line,
        the byte offset and how to re-encode it (never a bare
        UnicodeDecodeError).
    """
    try:
        with _open(path, "rt") as fh:
            for lineno, line in enumerate(fh, start=1):
                if lineno == 1 and line.startswith("\ufeff"):
                    line = line[1:]
                yield lineno, line
    except UnicodeDecodeError:
        raise _utf8_error(path) from None


def iter_text_lines(path):
    """``(line number, line)`` of the non-blank lines of a UTF-8 text file (1-based,
    line ends stripped), for the readers of ``label<TAB>...`` files; see
    :func:`iter_lines` (a file that is not UTF-8 raises ValueError naming the line)."""
    for lineno, raw in iter_lines(path):
        line = raw.rstrip("\r\n")
        if line.strip():
            yield lineno, line


def read_text(path):
    """The whole text of a UTF-8 file, BOM dropped; ValueError naming the line and the
    byte offset when it is not UTF-8 (see :func:`iter_lines`)."""
    return "".join(line for _, line in iter_lines(path))
