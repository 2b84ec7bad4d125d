"""Raw rows from CSV, XLSX and JSONL files, streamed one row at a time.

This layer knows file formats, not crashes: it yields `RawRow(row_number, values)` (values keyed
by the file's own column names) or `RawProblem` for a row that cannot be parsed (undecodable
bytes, an unclosed quote, a broken JSON line, a wrong number of fields). Column mapping and
validation live in data/records.py. Files are never loaded whole: CSV and JSONL go line by line,
XLSX through openpyxl's read-only mode. `open_rows` decides the format first (data/formats.py:
a file whose content is another format than the flag or extension says is refused unparsed).

Row numbers: CSV and XLSX count data rows from 1 (the header is row 0); JSONL uses line numbers.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from crashtransformer.core.errors import UserError
from crashtransformer.core.logs import log
from crashtransformer.data.formats import decide_format

SAMPLE_BYTES = 1 << 16  # how much of a file encoding and delimiter detection look at
DELIMITERS = (",", ";", "\t", "|")  # candidates when --delimiter is not given
RAW_TEXT_LIMIT = 10_000  # characters of an unparsable row kept for the rejects file
_SURROGATE = re.compile("[\udc80-\udcff]")  # bytes that did not decode (surrogateescape)

csv.field_size_limit(1 << 30)  # long narratives are judged by --max_chars, not by the parser


@dataclass
class RawRow:
    row_number: int
    values: dict[str, Any]


@dataclass
class RawProblem:
    row_number: int
    reason: str  # short code, the key of "rejects by reason" in the report
    detail: str
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class SourceInfo:
    """What a reader found out about its file; goes into the data report."""

    path: str
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    columns: list[str] = field(default_factory=list)
    rows_with_nul_bytes: int = 0


def open_rows(path: str | Path, data_format: str | None = None, *, worksheet: str | None = None,
              encoding: str | None = None, delimiter: str | None = None, known_columns: tuple[str, ...] = (),
              format_flags: dict[str, str] | None = None) -> tuple[SourceInfo, Iterator[RawRow | RawProblem]]:
    """The rows of a CSV, XLSX or JSONL file, read as its content shows it to be (formats.decide_format:
    `data_format`, else the extension; `format_flags` word the hint when they disagree)."""
    file = check_input_file(path)
    info = SourceInfo(str(file), decide_format(file, data_format, format_flags, encoding))
    if info.format == "csv":
        return info, read_csv_rows(file, info, encoding, delimiter, known_columns)
    if info.format == "xlsx":
        return info, read_xlsx_rows(file, info, worksheet)
    return info, read_jsonl_rows(file, info)


def check_input_file(path: str | Path) -> Path:
    file = Path(path)
    if not file.exists():
        raise UserError(f"input file not found: {file}")
    if not file.is_file():
        raise UserError(f"input is not a file: {file}")
    if file.stat().st_size == 0:
        raise UserError(f"{file}: the file is empty")
    return file


# ----------------------------------------------------------------------------- encoding


def detect_encoding(sample: bytes) -> str:
    """utf-8-sig (BOM), utf-8, or cp1252 when the sample has non-UTF-8 bytes and no UTF-8 text.

    Exports come as UTF-8 or as Windows cp1252; a UTF-8 file with a few stray bytes stays UTF-8
    (those rows are reported as undecodable rather than the whole file being misread).
    """
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    text = sample.decode("utf-8", errors="surrogateescape")
    bad = len(_SURROGATE.findall(text[:-4]))  # the sample may cut the last character in half
    good = sum(1 for ch in text if ord(ch) > 127 and not _SURROGATE.match(ch))
    return "cp1252" if bad and not good else "utf-8"


def _undecodable_columns(values: dict[str, Any]) -> list[str]:
    return [name for name, value in values.items()
            if isinstance(value, str) and not value.isascii() and _SURROGATE.search(value)]


def _printable(values: dict[str, Any]) -> dict[str, Any]:
    """Undecoded bytes shown as U+FFFD so the rejects file is valid UTF-8."""
    return {k: _SURROGATE.sub("\ufffd", v) if isinstance(v, str) else v for k, v in values.items()}


# ----------------------------------------------------------------------------- CSV


class _LineFeeder:
    """Feeds lines to csv.reader, drops NUL bytes, and remembers the raw text of the current row."""

    def __init__(self, handle):
        self.handle = handle
        self.buffer: list[str] = []
        self.buffered_chars = 0
        self.had_nul = False

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = next(self.handle)
        if "\x00" in line:
            line = line.replace("\x00", "")
            self.had_nul = True
        if self.buffered_chars < RAW_TEXT_LIMIT:
            self.buffer.append(line)
            self.buffered_chars += len(line)
        return line

    def start_row(self) -> None:
        self.buffer.clear()
        self.buffered_chars = 0
        self.had_nul = False

    def raw_text(self) -> str:
        return _SURROGATE.sub("\ufffd", "".join(self.buffer))[:RAW_TEXT_LIMIT]


def _choose_delimiter(header_line: str, wanted: tuple[str, ...]) -> str:
    """The candidate that splits the header into the most fields, preferring one that yields a
    recognised column; ',' when nothing splits it (a one-column file)."""
    best, best_score = ",", (False, 1)
    for delimiter in DELIMITERS:
        fields = next(csv.reader([header_line], delimiter=delimiter), [])
        names = {f.strip().lower() for f in fields}
        score = (bool(names & set(wanted)), len(fields))
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _unique_header(fields: list[str]) -> list[str]:
    """Names made unique, and printable: an undecoded byte (surrogate) in a name would reach the
    messages that list the columns, and the log file cannot encode it."""
    header, seen = [], {}
    for index, name in enumerate(fields, start=1):
        name = _SURROGATE.sub("\ufffd", name.replace("\ufeff", "")).strip() or f"column_{index}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 1
        header.append(name)
    return header


def read_csv_rows(path: Path, info: SourceInfo, encoding: str | None = None, delimiter: str | None = None,
                  known_columns: tuple[str, ...] = ()) -> Iterator[RawRow | RawProblem]:
    """Rows of a CSV export. `known_columns` (lower-case) help choose the delimiter."""
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    info.encoding = encoding or detect_encoding(sample)
    with path.open(encoding=info.encoding, errors="surrogateescape", newline="") as handle:
        feeder = _LineFeeder(handle)
        first_line = next(feeder, "")
        while first_line.strip(" \r\n\x00\ufeff") == "":  # blank lines before the header
            first_line = next(feeder, None)
            if first_line is None:
                raise UserError(f"{path}: the file has no header row (only blank lines)")
        info.delimiter = delimiter or _choose_delimiter(first_line, known_columns)
        info.columns = _unique_header(next(csv.reader([first_line], delimiter=info.delimiter)))
        if info.delimiter != ",":
            log.info("%s: columns separated by %r", path.name, info.delimiter)
        yield from _csv_data_rows(path, feeder, info)


def _csv_data_rows(path: Path, feeder: _LineFeeder, info: SourceInfo) -> Iterator[RawRow | RawProblem]:
    reader = csv.reader(feeder, delimiter=info.delimiter, strict=True)
    header = info.columns
    row_number = 0
    while True:
        feeder.start_row()
        first_line = reader.line_num + 2  # physical line where this row starts (header is line 1)
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            row_number += 1
            raw = {"raw_text": feeder.raw_text()}
            if "unexpected end of data" in str(exc):
                yield RawProblem(row_number, "unclosed_quote",
                                 f"a quote opened on line {first_line} is never closed; lines {first_line}-"
                                 f"{reader.line_num + 1} were read as one field", raw)
                return
            yield RawProblem(row_number, "bad_quoting", f"line {first_line}: {exc}", raw)
            continue
        if not any(f.strip() for f in fields) and len(fields) <= 1:
            continue  # a blank line is not a row
        row_number += 1
        info.rows_with_nul_bytes += feeder.had_nul
        if len(fields) != len(header):
            yield RawProblem(row_number, "wrong_field_count",
                             f"line {first_line}: expected {len(header)} fields, found {len(fields)} "
                             f"(an unquoted {info.delimiter!r} inside a value?)", {"raw_text": feeder.raw_text()})
            continue
        values = dict(zip(header, fields))
        bad = _undecodable_columns(values)
        if bad:
            yield RawProblem(row_number, "undecodable_bytes",
                             f"line {first_line}: bytes that are not {info.encoding} in column(s) "
                             f"{', '.join(bad)}; re-save the file as UTF-8 or pass --encoding", _printable(values))
            continue
        yield RawRow(row_number, values)


# ----------------------------------------------------------------------------- XLSX


def read_xlsx_rows(path: Path, info: SourceInfo, worksheet: str | None = None) -> Iterator[RawRow | RawProblem]:
    """Rows of one worksheet (the first when none is named); cells keep their types."""
    import zipfile

    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise UserError(f"{path}: cannot open as an Excel .xlsx workbook ({exc})") from None
    try:
        if worksheet and worksheet not in book.sheetnames:
            raise UserError(f"{path}: no worksheet '{worksheet}'; sheets found: {', '.join(book.sheetnames)} "
                            "(pass one with --worksheet)")
        sheet = book[worksheet] if worksheet else book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = None
        for cells in rows:
            if any(c not in (None, "") for c in cells):
                header = _unique_header(["" if c is None else str(c) for c in cells])
                break
        if header is None:
            raise UserError(f"{path}: worksheet '{sheet.title}' is empty")
        info.columns = header
        row_number = 0
        for cells in rows:
            if all(c in (None, "") for c in cells):
                continue
            row_number += 1
            values = {name: _cell_value(cell) for name, cell in zip(header, cells)}
            yield RawRow(row_number, values)
    finally:
        book.close()


def _cell_value(cell: Any) -> Any:
    if cell is None:
        return ""
    if hasattr(cell, "isoformat"):  # dates and times
        return cell.isoformat()
    return cell


# ----------------------------------------------------------------------------- JSONL

NESTED_PREFIXES = ("metadata", "crash")  # nested objects whose fields count as the row's own


def flatten_json_row(obj: dict[str, Any]) -> dict[str, Any]:
    """Top-level fields, plus `metadata.x` / `crash.x` as `x` (and as the dotted name)."""
    values = {k: v for k, v in obj.items() if not (k in NESTED_PREFIXES and isinstance(v, dict))}
    for prefix in NESTED_PREFIXES:
        nested = obj.get(prefix)
        if isinstance(nested, dict):
            for key, value in nested.items():
                values[f"{prefix}.{key}"] = value
    return values


def read_jsonl_rows(path: Path, info: SourceInfo) -> Iterator[RawRow | RawProblem]:
    """One JSON object per line; a broken line is a problem with its line number, not the end."""
    columns: dict[str, None] = {}
    with path.open("rb") as handle:
        utf16 = handle.read(2) in (b"\xff\xfe", b"\xfe\xff")  # the byte-order mark says so
    info.encoding = "utf-16" if utf16 else "utf-8"
    with path.open(encoding="utf-16" if utf16 else "utf-8-sig", errors="surrogateescape") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            if "\x00" in line:
                line = line.replace("\x00", "")
                info.rows_with_nul_bytes += 1
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield RawProblem(number, "broken_json", f"line {number}: not valid JSON ({exc.msg}, column {exc.colno})",
                                 {"raw_text": _SURROGATE.sub("\ufffd", line.rstrip("\n"))[:RAW_TEXT_LIMIT]})
                continue
            if not isinstance(obj, dict):
                yield RawProblem(number, "not_an_object", f"line {number}: a JSON {type(obj).__name__}, "
                                 "expected an object", {"raw_text": line.rstrip("\n")[:RAW_TEXT_LIMIT]})
                continue
            values = flatten_json_row(obj)
            bad = _undecodable_columns(values)
            if bad:
                yield RawProblem(number, "undecodable_bytes", f"line {number}: bytes that are not UTF-8 in "
                                 f"{', '.join(bad)}", _printable(values))
                continue
            if not columns.keys() >= values.keys():
                columns.update(dict.fromkeys(values))
                info.columns = list(columns)
            yield RawRow(number, values)
