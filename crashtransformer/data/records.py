"""CrashRecord: one crash as every stage sees it, and reading records from any crash file.

Reading (streams: a million-row export is never held in memory)::

    from crashtransformer.data.records import CrashRecord, Reject, iter_records
    for item in iter_records("crashes.csv"):              # CSV, XLSX or JSONL, by extension
        if isinstance(item, Reject):
            ...                                            # row_number, crash_id, field, reason, detail, raw
        else:
            ...                                            # a validated, cleaned CrashRecord

    reader = RecordReader("export.xlsx", worksheet="2024")  # same, plus reader.info / reader.columns
    records = read_training_file("training_data.csv")       # what `train` calls: records with summaries

Writing lives in data/writers.py (`write_records`, `RecordWriter`); spreadsheet-safe cells in core/io.py.

Columns are matched case-insensitively against the aliases in ROLE_ALIASES (`Narrative`,
`Investigator_Narrative`, `text`, ...; `Summary`, `reference_summary`, `best_summary`, ...;
`Crash_ID`, `CASEID`, `id`, ...), or named with text_column / summary_column / id_column. When a
file has no narrative column but has a summary-like one (CISS: `SUMMARY`), that column is read as
the narrative. Other columns go to `metadata` under their own names, except the well-known ones
renamed to Crash_Severity, City, County and CrashDate.

Crash IDs are strings. A row without one gets `auto-<12 hex digits of sha1(narrative)>`, stable
across reruns and row order; a repeated narrative gets `-2`, `-3`, ... appended.

Validation turns a row into a Reject (never an exception) when: its narrative is empty or
whitespace, longer than max_chars (unless the reader is told to cut such narratives:
long_narratives="truncate", what `run` and `evaluate --model` do; the record then carries
original_chars), or a number where text is expected; its summary is a number;
its plan_lines cannot be parsed; its Crash_ID repeats an earlier row's; or the file layer could
not parse it (see data/readers.py). Files that cannot be read at all raise UserError.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from crashtransformer.core.errors import UserError
from crashtransformer.core.io import unneutralize
from crashtransformer.core.index import DigestIndex
from crashtransformer.core.logs import log
from crashtransformer.data.cleaning import clean_text, cut_at_word, normalize_whitespace, repair_mojibake, scrub_pii
from crashtransformer.data.columns import ColumnMap, known_column_keys, resolve_columns
from crashtransformer.data.text import has_surrogate


@dataclass
class CrashRecord:
    crash_id: str  # always a string: "0012" stays "0012"
    narrative: str
    summary: str | None = None  # reference summary, when the input has one
    plan_lines: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)  # severity, city, county, date, ...
    row_number: int | None = None  # 1-based data row in the source file, for error messages
    original_chars: int | None = None  # the narrative's length before max_chars cut it; None: not cut


@dataclass
class Reject:
    """A row that did not become a record, with everything needed to find and fix it."""

    row_number: int | None
    crash_id: str
    field: str  # the column at fault ("" when the whole row is)
    reason: str  # short code: empty_narrative, too_long, not_text, duplicate_crash_id, ...
    detail: str  # one human sentence
    raw: dict[str, Any] = field(default_factory=dict)  # the original values of the row


# ----------------------------------------------------------------------------- values


class PlanLinesError(ValueError):
    """plan_lines that cannot be read as a list of lines."""


def parse_plan_lines(value: Any) -> list[str]:
    """A JSON list, a Python-list string (`"['1) a -> b']"`, what the original tool wrote), or
    newline-separated text -> list of non-empty lines. Raises PlanLinesError when malformed."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return []
    if isinstance(value, (list, tuple)):
        items = list(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text.startswith(("[", "{", "(")):  # anything else is newline-separated text
            return [line.strip() for line in text.splitlines() if line.strip()]
        try:
            items = json.loads(text)
        except (ValueError, RecursionError):  # a JSONDecodeError, a 5,000-digit number, [[[[... too deep
            try:
                items = ast.literal_eval(text)  # literals only: never eval
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:  # TypeError: {[]: 1}
                raise PlanLinesError(f"starts like a list but is not a valid one ({type(exc).__name__})") from None
        if not isinstance(items, (list, tuple)):
            raise PlanLinesError(f"a {type(items).__name__}, expected a list of lines")
    else:
        raise PlanLinesError(f"a {type(value).__name__}, expected a list of lines")
    if not all(isinstance(item, str) and not has_surrogate(item) for item in items):  # a "\\ud800" escape
        raise PlanLinesError("the list holds values that are not text (or not valid Unicode)")
    return [item.strip() for item in items if item.strip()]


_NOT_TEXT = re.compile(r"[\s.,:;/+\-$%#()]*\d[\d\s.,:;/+\-$%#()]*")  # digits and punctuation only: a number


def is_number_like(value: Any) -> bool:
    """True for numbers (and other non-text values) where prose is expected."""
    if isinstance(value, str):
        return bool(_NOT_TEXT.fullmatch(value))
    return True


# What pandas, spreadsheets and databases write into an empty cell: never a narrative or a summary.
MISSING_MARKERS = frozenset({"nan", "none", "null", "n/a", "#n/a", "na"})


def is_missing_marker(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower() in MISSING_MARKERS


def id_text(value: Any) -> str:
    """A crash ID as a string: 19955047.0 from a spreadsheet becomes "19955047"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def generated_id(narrative: str) -> str:
    return "auto-" + hashlib.sha1(narrative.encode("utf-8", "surrogatepass")).hexdigest()[:12]


# ----------------------------------------------------------------------------- rows -> records


def row_to_record(values: dict[str, Any], row_number: int | None, columns: ColumnMap) -> CrashRecord | Reject:
    """Map one raw row onto a CrashRecord; values that cannot be text or plans give a Reject."""
    crash_id = id_text(values.get(columns.crash_id)) if columns.crash_id else ""
    narrative = values.get(columns.narrative, "") if columns.narrative else ""
    summary = values.get(columns.summary) if columns.summary else None
    if narrative is None:
        narrative = ""
    if is_missing_marker(crash_id):
        crash_id = ""  # generated from the narrative, like any row without an ID
    if is_missing_marker(narrative):
        return Reject(row_number, crash_id, columns.narrative, "empty_narrative",
                      f"{columns.narrative} holds {narrative.strip()!r}, a missing-value marker, not a narrative", values)
    if is_missing_marker(summary):
        summary = None
    for name, value in ((columns.narrative, narrative), (columns.summary, summary)):
        if value not in (None, "") and is_number_like(value):
            return Reject(row_number, crash_id, name, "not_text",
                          f"{name} holds {str(value)[:40]!r}, a number or non-text value where text is expected",
                          values)
    try:
        plans = parse_plan_lines(values.get(columns.plan_lines)) if columns.plan_lines else []
    except PlanLinesError as exc:
        return Reject(row_number, crash_id, columns.plan_lines, "bad_plan_lines", f"plan_lines is {exc}", values)
    metadata = {key: values[column] for column, key in columns.metadata.items()
                if column in values and values[column] not in (None, "")}
    return CrashRecord(crash_id, narrative, summary or None, plans, metadata, row_number)


LONG_NARRATIVES = ("reject", "truncate")  # what a reader does with a narrative over max_chars


class Validator:
    """Per-file checks that need the record as a whole or memory of earlier rows.

    long_narratives: a narrative over max_chars is rejected (`too_long`: training data, where a
    cut narrative under its whole summary teaches the model to invent), or cut at a word boundary
    and kept with `original_chars` set (summarizing: the model reads only the start anyway);
    `truncated` counts those."""

    def __init__(self, max_chars: int | None = None, long_narratives: str = "reject"):
        if long_narratives not in LONG_NARRATIVES:  # a misspelt "reject" must not cut training data
            raise ValueError(f"long_narratives must be one of {LONG_NARRATIVES}, got {long_narratives!r}")
        self.max_chars, self.long_narratives, self.truncated = max_chars, long_narratives, 0
        self.first_row_of_id = DigestIndex()  # every Crash_ID of the file, on disk (core/index.py)
        self.generated: Counter = Counter()

    def check(self, record: CrashRecord, raw: dict[str, Any]) -> CrashRecord | Reject:
        row = record.row_number
        if not record.narrative.strip():
            return Reject(row, record.crash_id, "narrative", "empty_narrative", "the narrative is empty", raw)
        too_long = bool(self.max_chars) and len(record.narrative) > self.max_chars
        if too_long and self.long_narratives == "reject":
            return Reject(row, record.crash_id, "narrative", "too_long",
                          f"the narrative has {len(record.narrative)} characters, over --max_chars {self.max_chars}", raw)
        if not record.crash_id:
            record.crash_id = self._generate_id(record.narrative)  # from the whole text, whatever max_chars
        elif record.crash_id in self.first_row_of_id:
            return Reject(row, record.crash_id, "crash_id", "duplicate_crash_id",
                          f"Crash_ID {record.crash_id} already used by row {self.first_row_of_id.get(record.crash_id)}", raw)
        self.first_row_of_id.add(record.crash_id, row or 0)
        if too_long:
            record.original_chars = len(record.narrative)
            record.narrative = cut_at_word(record.narrative, self.max_chars)
            self.truncated += 1
        return record

    def _generate_id(self, narrative: str) -> str:
        base = generated_id(narrative)
        self.generated[base] += 1
        crash_id = base if self.generated[base] == 1 else f"{base}-{self.generated[base]}"
        while crash_id in self.first_row_of_id:  # a user ID that happens to look generated
            self.generated[base] += 1
            crash_id = f"{base}-{self.generated[base]}"
        return crash_id


# ----------------------------------------------------------------------------- cleaning

ORIGINAL_KEY = "Original_Narrative"  # metadata key holding the text before repair


def clean_record(record: CrashRecord, scrub: bool = False, counts: Counter | None = None) -> CrashRecord:
    """A cleaned copy of `record`; `counts` (optional) tallies what was changed.

    Keys counted: whitespace (narratives whose whitespace changed), mojibake (narratives
    repaired), phone / email (masks applied).
    """
    original = record.narrative
    whitespace_only = normalize_whitespace(original)
    narrative = whitespace_only if original.isascii() else normalize_whitespace(repair_mojibake(original))
    repaired = narrative != whitespace_only
    if scrub:
        narrative = scrub_pii(narrative, counts)
    summary = clean_text(record.summary, scrub, counts) if record.summary else record.summary
    metadata = dict(record.metadata)
    if counts is not None:
        counts["whitespace"] += whitespace_only != original
        counts["mojibake"] += repaired
    if repaired and ORIGINAL_KEY not in metadata:
        metadata[ORIGINAL_KEY] = scrub_pii(original) if scrub else original
    return dataclasses.replace(record, narrative=narrative, summary=summary, metadata=metadata)


# ----------------------------------------------------------------------------- readers


class RecordReader:
    """Iterate a crash file as CrashRecord | Reject; `info` and `columns` describe what was found.

    The one cleaning policy of `train`, `evaluate` and `run` (and prepare-data): every record is
    cleaned (clean_record: mojibake and whitespace repaired, the original text kept) and
    a CSV cell we neutralised against spreadsheet formulas gets its text back (core.io.unneutralize).
    raw_text: neither, the text exactly as written (the tagger: its span offsets point into it);
    scrub_pii: also mask phone numbers and e-mail addresses; max_chars and long_narratives: longer
    narratives are rejected or cut (see Validator; one warning per file counts the cut ones);
    allow_empty: a file with a header but no rows yields nothing instead of UserError;
    format_flags: how the command's flags read each format, for the message when the content is
    another format than the flag or extension says (default: run's --csv/--jsonl/--xlsx).
    `cleaning_counts` tallies what cleaning changed.
    """

    def __init__(self, path: str | Path, *, data_format: str | None = None, text_column: str | None = None,
                 summary_column: str | None = None, id_column: str | None = None, worksheet: str | None = None,
                 encoding: str | None = None, delimiter: str | None = None, max_chars: int | None = None,
                 long_narratives: str = "reject", raw_text: bool = False, scrub_pii: bool = False,
                 allow_empty: bool = False, format_flags: dict[str, str] | None = None):
        self.path = Path(path)
        self.data_format, self.format_flags = data_format, format_flags
        self.explicit = {"text_column": text_column, "summary_column": summary_column, "id_column": id_column}
        self.worksheet, self.encoding, self.delimiter = worksheet, encoding, delimiter
        self.max_chars, self.long_narratives = max_chars, long_narratives
        self.raw_text, self.scrub_pii, self.allow_empty = raw_text, scrub_pii, allow_empty
        self.info = None
        self.columns: ColumnMap | None = None
        self.cleaning_counts: Counter = Counter()

    def _raw_rows(self):
        from crashtransformer.data.readers import open_rows

        self.info, rows = open_rows(self.path, self.data_format, worksheet=self.worksheet, encoding=self.encoding,
                                    delimiter=self.delimiter, known_columns=known_column_keys(),
                                    format_flags=self.format_flags)
        return rows

    def __iter__(self) -> Iterator[CrashRecord | Reject]:
        validator = Validator(self.max_chars, self.long_narratives)
        try:
            yield from self._records(validator)
        finally:  # also when the caller stops early (evaluate --max_rows, run --limit)
            if validator.truncated:
                log.warning("%s: %d narrative(s) longer than --max_chars %d were cut at a word boundary and kept",
                            self.path, validator.truncated, self.max_chars)

    def _records(self, validator: Validator) -> Iterator[CrashRecord | Reject]:
        from crashtransformer.data.readers import RawProblem

        maps: dict[tuple, ColumnMap] = {}
        seen_rows = 0
        for item in self._raw_rows():
            seen_rows += 1
            if not maps and self.info.format != "jsonl":  # one header: check it before any row
                self._columns_for(dict.fromkeys(self.info.columns, ""), maps, first=True)
            if isinstance(item, RawProblem):
                yield Reject(item.row_number, "", item.column, item.reason, item.detail, item.raw)
                continue
            columns = self._columns_for(item.values, maps, first=not maps)
            if columns.narrative is None:
                yield Reject(item.row_number, "", "narrative", "missing_field",
                             f"no narrative field; fields: {', '.join(item.values)}", item.values)
                continue
            result = row_to_record(item.values, item.row_number, columns)
            if isinstance(result, CrashRecord):
                if not self.raw_text:
                    result = self._cleaned(result)
                result = validator.check(result, item.values)
            yield result
        if seen_rows == 0:
            if self.info.columns:
                self._columns_for(dict.fromkeys(self.info.columns, ""), maps, first=True)
            if not self.allow_empty:
                raise UserError(f"{self.path}: no data rows (only a header)" if self.info.columns
                                else f"{self.path}: no data rows")

    def _cleaned(self, record: CrashRecord) -> CrashRecord:
        if self.info.format == "csv":
            record.narrative, record.summary = unneutralize(record.narrative), unneutralize(record.summary)
        return clean_record(record, self.scrub_pii, self.cleaning_counts)

    def _columns_for(self, values: dict[str, Any], maps: dict[tuple, ColumnMap], first: bool) -> ColumnMap:
        """The column map for this row's set of columns (one per file for CSV/XLSX)."""
        key = tuple(values)
        if key not in maps:
            maps[key] = resolve_columns(list(values), str(self.path), required=first, **self.explicit)
            if first:
                self.columns = maps[key]
                log.debug("%s: columns %s", self.path, maps[key])
        return maps[key]


def chunked(items: Iterable, size: int) -> Iterator[list]:
    """Lists of `size` items (the last one shorter): `run` and `evaluate --model` read in these."""
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def iter_records(path: str | Path, **options: Any) -> Iterator[CrashRecord | Reject]:
    """Stream a CSV/XLSX/JSONL file as CrashRecord | Reject; options as for RecordReader."""
    return iter(RecordReader(path, **options))


TRAIN_FORMAT_FLAGS = {"csv": "--data_format csv", "jsonl": "--data_format jsonl"}  # how `train` is told


def read_training_file(path: str | Path, data_format: str | None = None) -> list[CrashRecord]:
    """A training file (prepare-data's CSV or JSONL): records that have a summary.

    Rows that fail validation or lack a summary are skipped with a warning naming the rows;
    a file with no summary column, or no usable row, raises UserError.
    """
    fmt = data_format.lower() if data_format else None
    if fmt == "json":
        fmt = "jsonl"
    reader = RecordReader(path, data_format=fmt, format_flags=TRAIN_FORMAT_FLAGS)
    records, problems = [], Counter()
    examples: list[str] = []
    for item in reader:
        if isinstance(item, Reject):
            problems[item.reason] += 1
            examples.append(f"row {item.row_number}: {item.detail}")
            continue
        if reader.columns and reader.columns.summary is None:
            raise UserError(f"{path}: no summary column (columns: {', '.join(reader.info.columns)}); "
                            "a training file needs Summary targets: make one with prepare-data")
        if not item.summary or not item.summary.strip():
            problems["missing_summary"] += 1
            examples.append(f"row {item.row_number}: no summary")
            continue
        records.append(item)
    if problems:
        log.warning("%s: skipped %d row(s) (%s); first: %s", path, sum(problems.values()),
                    ", ".join(f"{k}={v}" for k, v in problems.items()), "; ".join(examples[:3]))
    if not records:
        raise UserError(f"{path}: no usable training rows ({', '.join(f'{k}={v}' for k, v in problems.items())})")
    return records
