"""File helpers: atomic writes (a reader never sees a half-written file) and line reading."""

from __future__ import annotations

import contextlib
import gzip
import os
import tempfile
import zlib

__all__ = ["atomic_path", "atomic_write_text", "iter_lines", "iter_text_lines", "read_text"]

_UTF8_HINT = ("the data files must be UTF-8: re-encode the file, e.g. "
              "`iconv -f latin1 -t utf-8 FILE > FILE.utf8` for a latin-1 file")


@contextlib.contextmanager
def atomic_path(path, *, fsync=False):
    """A temporary path beside ``path`` (same folder, name ``.tmp-...``) to write to; when
    the block ends without an error it is renamed over ``path`` (``os.replace``, atomic),
    else removed. A reader of ``path`` sees the old file or the new one, never a part.
    ``fsync`` flushes the file to the disk before the rename."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    os.close(fd)
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path, text, encoding="utf-8"):
    """Write ``text`` to ``path`` through a temporary file in the same folder."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding=encoding) as fh:
        fh.write(text)


def _open_binary(path):
    """``open`` or, for a ``.gz`` name, ``gzip.open``, in binary mode."""
    return (gzip.open if os.fspath(path).endswith(".gz") else open)(path, "rb")


def iter_lines(path):
    """``(line number, line)`` of every line of a UTF-8 text file (plain or ``.gz``).

    Lines are split and numbered as a text-mode ``open`` does (``\\n``,
    ``\\r\\n`` and ``\\r`` end a line, each end read as ``\\n``), 1-based; a UTF-8
    byte order mark at the start of the file is dropped (it would otherwise
    stick to the first field). Each line is decoded on its own, so the lines
    before an invalid byte are yielded and the error names the exact line.

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
        If a line is not valid UTF-8: the message names the file, the line,
        the byte offset (of the uncompressed data for ``.gz``) and how to
        re-encode the file (never a bare UnicodeDecodeError).
    """
    offset, lineno = 0, 0
    with _open_binary(path) as fh:
        for raw in _checked_raw_lines(fh, path, lambda: lineno):
            if b"\r" in raw:  # bytes.splitlines splits on exactly text mode's newlines
                parts = [p[:-2] + b"\n" if p.endswith(b"\r\n") else
                         p[:-1] + b"\n" if p.endswith(b"\r") else p
                         for p in raw.splitlines(keepends=True)]
            else:
                parts = (raw,)
            for part in parts:
                lineno += 1
                try:
                    line = part.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise _utf8_error(path, lineno, offset, part, exc) from None
                if lineno == 1 and line.startswith("\ufeff"):
                    line = line[1:]
                offset += len(part)
                yield lineno, line


def _checked_raw_lines(fh, path, lineno):
    """The binary lines of ``fh``; a damaged ``.gz`` stream (bad header, truncated,
    corrupt data) raises ValueError naming the file and the last line read."""
    it = iter(fh)
    while True:
        try:
            raw = next(it)
        except StopIteration:
            return
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"{os.fspath(path)}: the gzip data is damaged after line "
                             f"{lineno()} ({type(exc).__name__}: {exc}).") from exc
        yield raw


def _utf8_error(path, lineno, offset, part, exc):
    """The ValueError for line ``lineno`` (starting at byte ``offset``) not being UTF-8."""
    where = "of the uncompressed data" if os.fspath(path).endswith(".gz") else "in the file"
    return ValueError(
        f"{os.fspath(path)}:{lineno}: not valid UTF-8 at byte offset {offset + exc.start} "
        f"{where} (byte {exc.start + 1} of the line, {part[exc.start:exc.start + 4]!r}...: "
        f"{exc.reason}); {_UTF8_HINT}.")


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
