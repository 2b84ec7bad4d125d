"""Writing records and rejects: CSV (the seed's columns) or JSONL (the seed's shape), atomically.

    from crashtransformer.data.writers import write_records, RecordWriter, RejectWriter
    write_records(records, "training_data.csv")          # or .jsonl, or format="jsonl"
    with RecordWriter("out.csv", extra_columns=["County"]) as out:   # streaming
        out.write(record)                                 # the file appears on leaving the block

Every file goes through core.io.AtomicFile: a killed process leaves the old file or none, never half.

CSV: `Narrative, Summary, plan_lines, Crash_ID, Crash_Severity, City`, then other metadata keys;
plan_lines as a JSON list; lists/dicts in metadata as JSON. Cells that a spreadsheet would run
as a formula (starting with = + - @, tab or CR) get a leading apostrophe (safe_cell);
read_training_file removes it again.
JSONL: `{"narrative", "summary", "plan_lines": [...], "metadata": {"crash_id", "severity", "city", ...}}`.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from crashtransformer.core.errors import UserError
from crashtransformer.core.io import REJECT_COLUMNS, AtomicFile, reject_cells, reject_row, safe_cell

if TYPE_CHECKING:
    from crashtransformer.data.records import CrashRecord, Reject

SEED_COLUMNS = ("Narrative", "Summary", "plan_lines", "Crash_ID", "Crash_Severity", "City")
JSONL_METADATA_NAMES = {"Crash_Severity": "severity", "City": "city"}  # the seed's JSONL keys


def output_format(path: str | Path, data_format: str | None = None) -> str:
    if data_format:
        fmt = data_format.lower()
    else:
        suffix = Path(path).suffix.lower()
        fmt = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl"}.get(suffix, "")
    if fmt not in ("csv", "jsonl"):
        raise UserError(f"cannot tell the output format of '{path}': use a .csv or .jsonl name, or --format csv|jsonl")
    return fmt


def _cell(value: Any) -> str:
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return safe_cell(value)


class RecordWriter:
    """Streams records to CSV or JSONL; the file appears (atomically) on commit / leaving `with`."""

    def __init__(self, path: str | Path, data_format: str | None = None, extra_columns: Iterable[str] = ()):
        self.format = output_format(path, data_format)
        self.file = AtomicFile(path)
        self.count = 0
        self.columns = list(SEED_COLUMNS) + [c for c in dict.fromkeys(extra_columns) if c not in SEED_COLUMNS]
        if self.format == "csv":
            self._csv = csv.writer(self.file.handle)
            self._csv.writerow(self.columns)

    def write(self, record: CrashRecord) -> None:
        if self.format == "csv":
            row = {"Narrative": record.narrative, "Summary": record.summary or "",
                   "plan_lines": json.dumps(record.plan_lines, ensure_ascii=False), "Crash_ID": record.crash_id}
            row.update({k: v for k, v in record.metadata.items() if k not in row})
            missing = [k for k in record.metadata if k not in self.columns]
            if missing:
                raise ValueError(f"metadata keys {missing} are not among the CSV columns given to RecordWriter")
            self._csv.writerow([_cell(row.get(c)) for c in self.columns])
        else:
            metadata = {"crash_id": record.crash_id}
            metadata.update({JSONL_METADATA_NAMES.get(k, k): v for k, v in record.metadata.items()})
            line = {"narrative": record.narrative, "summary": record.summary or "",
                    "plan_lines": record.plan_lines, "metadata": metadata}
            self.file.handle.write(json.dumps(line, ensure_ascii=False) + "\n")
        self.count += 1

    def commit(self) -> Path:
        return self.file.commit()

    def abort(self) -> None:
        self.file.abort()

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.file.fail(exc) if exc_type else self.commit()


def write_records(records: Iterable[CrashRecord], path: str | Path, data_format: str | None = None) -> Path:
    """Write all records (CSV or JSONL by extension or data_format) atomically; returns the path.

    CSV needs its columns up front, so the records are gathered first to find the metadata keys;
    stream with RecordWriter(extra_columns=...) when they are known.
    """
    records = list(records)
    extra = [key for record in records for key in record.metadata]
    with RecordWriter(path, data_format, extra_columns=extra) as out:
        for record in records:
            out.write(record)
    return Path(path)


class RejectWriter:
    """rejects.csv (core.io.REJECT_COLUMNS): where each row came from, why it was rejected, its raw values."""

    def __init__(self, path: str | Path, source_file: str = "", source_sha256: str = ""):
        self.file = AtomicFile(path)
        self.source_file, self.source_sha256 = source_file, source_sha256
        self._csv = csv.writer(self.file.handle)
        self._csv.writerow(REJECT_COLUMNS)
        self.count = 0

    def write(self, reject: Reject) -> None:
        self._csv.writerow(reject_cells(reject_row(reject, self.source_file, self.source_sha256)))
        self.count += 1

    def commit(self) -> Path:
        return self.file.commit()

    def abort(self) -> None:
        self.file.abort()
