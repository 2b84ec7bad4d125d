"""Raw rows from CSV, XLSX and JSONL files, streamed one row at a time.

This layer knows file formats, not crashes: it yields `RawRow(row_number, values)` (values keyed
by the file's own column names) or `RawProblem` for a row that cannot be parsed (undecodable
bytes, an unclosed quote, a broken JSON line, a wrong number of fields). Column mapping and
validation live in data/records.py. Files are never loaded whole: CSV and JSONL go line by line,
XLSX through openpyxl's read-only mode. Hostile bytes cost bounded memory and raise nothing but
UserError (data/limits.py: a line or row over MAX_ROW_CHARS is a `line_too_long` / `unclosed_quote`
problem, JSON past MAX_JSON_DEPTH is `broken_json`, a ZIP bomb is refused; data/text.py: bytes
of no encoding are `undecodable_bytes`). `open_rows` decides the format first (data/formats.py:
a file whose content is another format than the flag or extension says is refused unparsed).

Row numbers: CSV and XLSX count data rows from 1 (the header is row 0); JSONL uses line numbers.
"""

from __future__ import annotations

import csv
import json
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from crashtransformer.core.errors import UserError
from crashtransformer.core.logs import log
from crashtransformer.data import limits
from crashtransformer.data.formats import decide_format
from crashtransformer.data.limits import RAW_TEXT_LIMIT, LineFeeder, LineTooLong, RowTooLong, bounded_lines
from crashtransformer.data.text import DECODE_ERRORS, check_encoding, detect_encoding, has_surrogate, printable

SAMPLE_BYTES = 1 << 16  # how much of a file encoding and delimiter detection look at
DELIMITERS = (",", ";", "\t", "|")  # candidates when --delimiter is not given

csv.field_size_limit(1 << 30)  # long narratives are judged by --max_chars, rows by limits.MAX_ROW_CHARS


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
    column: str = ""  # the column at fault, when one is (undecodable bytes)


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
    try:
        file.open("rb").close()
    except OSError as exc:  # no read permission: the user's to fix, not a traceback
        raise UserError(f"{file}: cannot be read ({exc.strerror or exc})") from None
    return file


# ----------------------------------------------------------------------------- encoding


def _undecodable_columns(values: dict[str, Any]) -> list[str]:
    return [name for name, value in values.items() if isinstance(value, str) and has_surrogate(value)]


def _printable(values: dict[str, Any]) -> dict[str, Any]:
    """Undecoded bytes shown as U+FFFD so the rejects file is valid UTF-8."""
    return {printable(str(k)): printable(v) if isinstance(v, str) else v for k, v in values.items()}


# ----------------------------------------------------------------------------- CSV


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
        name = printable(name.replace("\ufeff", "")).strip() or f"column_{index}"
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
    info.encoding = check_encoding(encoding, path) if encoding else detect_encoding(sample)
    if delimiter is not None and len(delimiter) != 1:
        raise UserError(f"--delimiter must be one character, got {delimiter!r}")
    with path.open(encoding=info.encoding, errors=DECODE_ERRORS, newline="") as handle:
        feeder = LineFeeder(handle)
        first_line = _header_line(path, feeder)
        info.delimiter = delimiter or _choose_delimiter(first_line, known_columns)
        try:
            info.columns = _unique_header(next(csv.reader([first_line], delimiter=info.delimiter)))
        except csv.Error as exc:
            raise UserError(f"{path}: cannot read the header row ({exc})") from None
        if info.delimiter != ",":
            log.info("%s: columns separated by %r", path.name, info.delimiter)
        yield from _csv_data_rows(path, feeder, info)


def _header_line(path: Path, feeder: LineFeeder) -> str:
    """The first line that is not blank; UserError when there is none, or it is over-long."""
    try:
        first_line = next(feeder, "")
        while first_line.strip(" \r\n\x00\ufeff") == "":  # blank lines before the header
            first_line = next(feeder, None)
            if first_line is None:
                raise UserError(f"{path}: the file has no header row (only blank lines)")
    except (LineTooLong, RowTooLong):
        raise UserError(f"{path}: the header row (line {feeder.lines_read}) is longer than "
                        f"{limits.MAX_ROW_CHARS:,} characters: not a CSV header") from None
    return first_line


def _csv_data_rows(path: Path, feeder: LineFeeder, info: SourceInfo) -> Iterator[RawRow | RawProblem]:
    reader = csv.reader(feeder, delimiter=info.delimiter, strict=True)
    row_number = 0
    while True:
        feeder.start_row()
        first_line = feeder.lines_read + 1  # physical line where this row starts
        try:
            fields = next(reader)
        except StopIteration:
            return
        except LineTooLong as exc:
            row_number += 1
            yield RawProblem(row_number, "line_too_long", str(exc), {"raw_text": printable(exc.prefix)})
            continue
        except RowTooLong:
            row_number += 1
            yield RawProblem(row_number, "unclosed_quote",
                             f"a quote opened on line {first_line} is not closed within {limits.MAX_ROW_CHARS:,} "
                             f"characters (lines {first_line}-{feeder.lines_read}); the rest of the file was not read",
                             {"raw_text": feeder.raw_text()})
            return
        except csv.Error as exc:
            row_number += 1
            raw = {"raw_text": feeder.raw_text()}
            if "unexpected end of data" in str(exc):
                yield RawProblem(row_number, "unclosed_quote",
                                 f"a quote opened on line {first_line} is never closed; lines {first_line}-"
                                 f"{feeder.lines_read} were read as one field", raw)
                return
            yield RawProblem(row_number, "bad_quoting", f"line {first_line}: {exc}", raw)
            continue
        if not any(f.strip() for f in fields) and len(fields) <= 1:
            continue  # a blank line is not a row
        row_number += 1
        info.rows_with_nul_bytes += feeder.had_nul
        yield _csv_row(row_number, first_line, fields, feeder, info)


def _csv_row(row_number: int, first_line: int, fields: list[str], feeder: LineFeeder,
             info: SourceInfo) -> RawRow | RawProblem:
    header = info.columns
    if len(fields) != len(header):
        return RawProblem(row_number, "wrong_field_count",
                          f"line {first_line}: expected {len(header)} fields, found {len(fields)} "
                          f"(an unquoted {info.delimiter!r} inside a value?)", {"raw_text": feeder.raw_text()})
    values = dict(zip(header, fields))
    bad = _undecodable_columns(values)
    if bad:
        return RawProblem(row_number, "undecodable_bytes",
                          f"line {first_line}: bytes that are not {info.encoding} in column(s) "
                          f"{', '.join(bad)}; re-save the file as UTF-8 or pass --encoding", _printable(values), bad[0])
    return RawRow(row_number, values)


# ----------------------------------------------------------------------------- XLSX


# What openpyxl raises on a damaged workbook (a member missing or cut short, XML that does not parse,
# a value of the wrong type); its own InvalidFileException is added when openpyxl is imported.
_XLSX_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, KeyError, IndexError, ValueError, TypeError,
                AttributeError, SyntaxError, NotImplementedError, struct.error)


def read_xlsx_rows(path: Path, info: SourceInfo, worksheet: str | None = None) -> Iterator[RawRow | RawProblem]:
    """Rows of one worksheet (the first when none is named); cells keep their types. The ZIP is
    measured first (limits.check_workbook_sizes); whatever a damaged workbook makes openpyxl
    raise, on opening or mid-sheet, is a UserError naming the file."""
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    errors = (*_XLSX_ERRORS, InvalidFileException)
    limits.check_workbook_sizes(path)
    handle = open(path, "rb")  # ours, so a workbook openpyxl fails to open is still closed
    try:
        book = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except errors as exc:
        handle.close()
        raise UserError(f"{path}: cannot open as an Excel .xlsx workbook ({type(exc).__name__}: {exc})") from None
    row_number = 0
    try:
        for row_number, row in enumerate(_sheet_rows(path, book, info, worksheet), start=1):
            yield row
    except errors as exc:
        raise UserError(f"{path}: the workbook is damaged; reading stopped after data row {row_number} "
                        f"({type(exc).__name__}: {exc})") from None
    finally:
        book.close()
        handle.close()


def _sheet_rows(path: Path, book, info: SourceInfo, worksheet: str | None) -> Iterator[RawRow]:
    if worksheet and worksheet not in book.sheetnames:
        raise UserError(f"{path}: no worksheet '{worksheet}'; sheets found: {', '.join(book.sheetnames)} "
                        "(pass one with --worksheet)")
    if not worksheet and not book.worksheets:
        raise UserError(f"{path}: the workbook has no worksheet")
    sheet = book[worksheet] if worksheet else book.worksheets[0]
    if not hasattr(sheet, "iter_rows"):
        raise UserError(f"{path}: '{worksheet}' is a chart sheet, not a worksheet")
    # openpyxl pads every row to the width and height the sheet's <dimension> claims: a forged
    # A1:XFD1048576 would make each row 16,384 cells and the sheet a million rows. Without it each
    # row is as wide as its own last cell, and only real gaps in the row numbers are padded.
    sheet.reset_dimensions()
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
        yield RawRow(row_number, _row_values(header, cells))


def _row_values(header: list[str], cells: tuple) -> dict[str, Any]:
    """The row by column name; a row shorter than the header has "" in the rest, a cell beyond
    the header is named by its column number, as an unnamed header cell is (_unique_header)."""
    values = dict.fromkeys(header, "")
    for index, cell in enumerate(cells):
        if index < len(header):
            values[header[index]] = _cell_value(cell)
        elif cell not in (None, ""):
            values[f"column_{index + 1}"] = _cell_value(cell)
    return values


def _cell_value(cell: Any) -> Any:
    if cell is None:
        return ""
    if hasattr(cell, "isoformat"):  # dates and times
        return cell.isoformat()
    if not isinstance(cell, (str, int, float)):  # a timedelta (a duration format): JSON cannot hold it
        return str(cell)
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
    with path.open(encoding="utf-16" if utf16 else "utf-8-sig", errors=DECODE_ERRORS) as handle:
        for number, line, whole in bounded_lines(handle):
            if not whole:
                yield RawProblem(number, "line_too_long", limits.too_long_detail(number),
                                 {"raw_text": printable(line[:RAW_TEXT_LIMIT])})
                continue
            if "\x00" in line:
                line = line.replace("\x00", "")
                info.rows_with_nul_bytes += 1
            if not line.strip():
                continue
            item = _json_row(number, line, info)
            if isinstance(item, RawRow) and not columns.keys() >= item.values.keys():
                columns.update(dict.fromkeys(item.values))
                info.columns = list(columns)
            yield item


def _json_row(number: int, line: str, info: SourceInfo) -> RawRow | RawProblem:
    """One JSONL line as a row, or the problem with it (never an exception: a line nested 100,000
    deep or holding a 5,000-digit number is a broken line like any other)."""
    raw = {"raw_text": printable(line.rstrip("\n"))[:RAW_TEXT_LIMIT]}
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        return RawProblem(number, "broken_json", f"line {number}: not valid JSON ({limits.json_error_text(exc)})", raw)
    if not isinstance(obj, dict):
        return RawProblem(number, "not_an_object", f"line {number}: a JSON {type(obj).__name__}, expected an object", raw)
    values = flatten_json_row(obj)
    problem = limits.json_problem(obj)
    if problem is not None and limits.UNICODE_PROBLEM in problem:
        bad = [k for k in values if has_surrogate(k)] + _undecodable_columns(values)
        where = f" in {', '.join(printable(b) for b in bad)}" if bad else ""
        return RawProblem(number, "undecodable_bytes", f"line {number}: {problem}{where}", _printable(values),
                          printable(bad[0]) if bad else "")
    if problem is not None:
        return RawProblem(number, "broken_json", f"line {number}: {problem}", raw)
    if any(isinstance(v, str) and "\x00" in v for v in values.values()):  # \u0000 escapes: dropped like NUL bytes
        values = {k: v.replace("\x00", "") if isinstance(v, str) else v for k, v in values.items()}
        info.rows_with_nul_bytes += 1
    return RawRow(number, values)
