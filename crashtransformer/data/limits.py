"""What one row of an input file may cost, so that hostile bytes cannot exhaust memory or the stack.

A nightly job reads whatever lands in its inbox: a 1 GB line without a newline, a quote that
never closes, JSON nested 100,000 deep, an .xlsx whose sheet inflates to gigabytes, bytes of no
encoding. The readers (data/readers.py, plan/graph.py read_graphs_file) go through this module:

- lines are read at most MAX_ROW_CHARS characters at a time (`bounded_lines`); the rest of a
  longer line is skipped in SKIP_BLOCK_CHARS blocks, never held, and the line is reported;
- a row (the lines of one quoted CSV field together) stops at MAX_ROW_CHARS too;
- JSON values deeper than MAX_JSON_DEPTH are refused (writing them back out would recurse);
- an .xlsx is measured from its ZIP central directory before openpyxl inflates anything;
- text is decoded with data/text.py's DECODE_ERRORS: a byte that does not decode is a lone
  surrogate the reader finds (`has_surrogate`), and the row is rejected instead of raising.

The constants are read at call time (`limits.MAX_ROW_CHARS`), so a test can lower them.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path
from typing import IO, Any, Iterator

from crashtransformer.core.errors import UserError
from crashtransformer.data.text import has_surrogate, printable

# 200x the default --max_chars (20,000; CRIS narratives reach ~6,000), so a 1 MB narrative is still
# read and judged by --max_chars (cut or rejected `too_long`); a row longer than this is merged
# records or garbage, and holding it (at most ~16 MB of str) is what a bad file may cost.
MAX_ROW_CHARS = 4_000_000
SKIP_BLOCK_CHARS = 1 << 20  # read size while skipping the rest of an over-long line
RAW_TEXT_LIMIT = 10_000  # characters of an unparsable row kept for the rejects file
MAX_JSON_DEPTH = 100  # crash graphs nest 4 deep; json.dumps of a 1,000-deep value hits RecursionError
XLSX_MAX_UNCOMPRESSED_BYTES = 1 << 30  # all members together; openpyxl holds the shared strings whole
XLSX_MAX_RATIO = 100  # sheet XML deflates ~5-20:1; a member over this ratio and ...
XLSX_RATIO_MIN_BYTES = 50 << 20  # ... over this size inflated is a ZIP bomb, not a workbook

# ----------------------------------------------------------------------------- lines


def bounded_lines(handle: IO[str]) -> Iterator[tuple[int, str, bool]]:
    """(line number from 1, text, whole) for each physical line of a text handle. A line over
    MAX_ROW_CHARS comes as its first MAX_ROW_CHARS characters with whole=False; the rest of it
    is read in blocks and dropped, so memory stays bounded whatever the file holds."""
    number = 0
    while True:
        limit = MAX_ROW_CHARS
        line = handle.readline(limit + 1)
        if not line:
            return
        number += 1
        if len(line) <= limit or line.endswith(("\n", "\r")):
            yield number, line, True
            continue
        while True:  # skip to the end of the line
            block = handle.readline(SKIP_BLOCK_CHARS)
            if not block or block.endswith(("\n", "\r")):
                break
        yield number, line[:limit], False


def too_long_detail(line_number: int) -> str:
    return (f"line {line_number} is longer than {MAX_ROW_CHARS:,} characters (the most one row may hold); "
            "the rest of that line was skipped")


class LineTooLong(Exception):
    """A physical line over MAX_ROW_CHARS; its rest was skipped (bounded_lines)."""

    def __init__(self, line_number: int, prefix: str):
        super().__init__(too_long_detail(line_number))
        self.line_number, self.prefix = line_number, prefix


class RowTooLong(Exception):
    """The lines of one row (a quoted field spanning lines) passed MAX_ROW_CHARS together."""


class LineFeeder:
    """Feeds lines to csv.reader, drops NUL bytes, and remembers the raw text of the current row.

    Lines come through bounded_lines: an over-long line raises LineTooLong, a row growing past
    MAX_ROW_CHARS raises RowTooLong (csv.reader passes both on, and starts afresh on its next row)."""

    def __init__(self, handle: IO[str]):
        self.lines = bounded_lines(handle)
        self.lines_read = 0  # physical lines so far, the header included
        self.buffer: list[str] = []
        self.buffered_chars = 0
        self.row_chars = 0
        self.had_nul = False

    def __iter__(self):
        return self

    def __next__(self) -> str:
        self.lines_read, line, whole = next(self.lines)
        if not whole:
            raise LineTooLong(self.lines_read, line[:RAW_TEXT_LIMIT])
        if "\x00" in line:
            line = line.replace("\x00", "")
            self.had_nul = True
        self.row_chars += len(line)
        if self.row_chars > MAX_ROW_CHARS:
            raise RowTooLong()
        if self.buffered_chars < RAW_TEXT_LIMIT:
            self.buffer.append(line)
            self.buffered_chars += len(line)
        return line

    def start_row(self) -> None:
        self.buffer.clear()
        self.buffered_chars = self.row_chars = 0
        self.had_nul = False

    def raw_text(self) -> str:
        return printable("".join(self.buffer))[:RAW_TEXT_LIMIT]


# ----------------------------------------------------------------------------- JSON


UNICODE_PROBLEM = "bytes that are not UTF-8 (or a lone \\ud800-\\udfff escape)"


def json_problem(value: Any) -> str | None:
    """Why a parsed JSON value cannot be a row: nested deeper than MAX_JSON_DEPTH, or text holding
    a lone surrogate (a \\ud800 escape, or a byte that was not UTF-8). Walks without recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if has_surrogate(item):
                return UNICODE_PROBLEM
            continue
        if not isinstance(item, (dict, list)):
            continue
        if depth > MAX_JSON_DEPTH:
            return f"nested deeper than {MAX_JSON_DEPTH} levels"
        children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children)
    return None


def json_error_text(exc: Exception) -> str:
    """json.loads failures in words: a syntax error, a structure too deep for the parser, an integer
    too long to convert."""
    if isinstance(exc, RecursionError):
        return "nested too deeply to parse"
    msg, column = getattr(exc, "msg", None), getattr(exc, "colno", None)
    if msg is not None:
        return f"{msg}, column {column}"
    return str(exc).split(";")[0]


# ----------------------------------------------------------------------------- XLSX

_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, struct.error,
               NotImplementedError, KeyError, IndexError, OverflowError)


def check_workbook_sizes(path: Path) -> None:
    """UserError, naming the file and member, when the workbook's ZIP is damaged or would inflate
    past XLSX_MAX_UNCOMPRESSED_BYTES or by more than XLSX_MAX_RATIO (a ZIP bomb). The sizes come
    from the central directory; zipfile stops a member at its declared size, so they cannot lie."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except _ZIP_ERRORS as exc:
        raise UserError(f"{path}: cannot open as an Excel .xlsx workbook: a damaged ZIP ({exc})") from None
    total = 0
    for member in members:
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > XLSX_RATIO_MIN_BYTES and ratio > XLSX_MAX_RATIO:
            raise UserError(f"{path}: member {member.filename} would inflate {ratio:,.0f}-fold to "
                            f"{member.file_size:,} bytes (a ZIP bomb?); refused before reading")
        if total > XLSX_MAX_UNCOMPRESSED_BYTES:
            raise UserError(f"{path}: the workbook inflates to more than {XLSX_MAX_UNCOMPRESSED_BYTES:,} bytes "
                            f"(at member {member.filename}); export the sheet as CSV, which is read as a stream")
