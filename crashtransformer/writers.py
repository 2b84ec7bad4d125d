"""Writing records and rejects: CSV (the seed's columns) or JSONL (the seed's shape), atomically.

    from crashtransformer.writers import write_records, RecordWriter, RejectWriter, safe_cell
    write_records(records, "training_data.csv")          # or .jsonl, or format="jsonl"
    with RecordWriter("out.csv", extra_columns=["County"]) as out:   # streaming
        out.write(record)                                 # the file appears on leaving the block

Every file is written to a temporary file in the same folder and renamed over the target
(os.replace) only when complete, so a killed process leaves the old file or none, never half.

CSV: `Narrative, Summary, plan_lines, Crash_ID, Crash_Severity, City`, then other metadata keys;
plan_lines as a JSON list; lists/dicts in metadata as JSON. Cells that a spreadsheet would run
as a formula (starting with = + - @, tab or CR) get a leading apostrophe (safe_cell);
read_training_file removes it again.
JSONL: `{"narrative", "summary", "plan_lines": [...], "metadata": {"crash_id", "severity", "city", ...}}`.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Iterable

from crashtransformer.errors import UserError

if TYPE_CHECKING:
    from crashtransformer.records import CrashRecord, Reject

SEED_COLUMNS = ("Narrative", "Summary", "plan_lines", "Crash_ID", "Crash_Severity", "City")
JSONL_METADATA_NAMES = {"Crash_Severity": "severity", "City": "city"}  # the seed's JSONL keys
REJECT_COLUMNS = ("row_number", "Crash_ID", "field", "reason", "detail", "raw_values")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """A CSV cell a spreadsheet will show as text, never run as a formula."""
    text = "" if value is None else value if isinstance(value, str) else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def unneutralize(text: str | None) -> str | None:
    """Undo safe_cell on text read back from our own CSV."""
    if text and text.startswith("'") and text[1:2] and text[1:2] in _FORMULA_START:
        return text[1:]
    return text


def output_format(path: str | Path, data_format: str | None = None) -> str:
    if data_format:
        fmt = data_format.lower()
    else:
        suffix = Path(path).suffix.lower()
        fmt = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl"}.get(suffix, "")
    if fmt not in ("csv", "jsonl"):
        raise UserError(f"cannot tell the output format of '{path}': use a .csv or .jsonl name, or --format csv|jsonl")
    return fmt


def check_writable_dir(directory: str | Path, flag: str) -> Path:
    """Create `directory` if needed and prove a file can be made in it; UserError naming `flag` if not.

    Run before any work, so an output path under a regular file, on a read-only mount or in /proc
    is one clear line at the start rather than an internal error after the work is done."""
    path = Path(directory)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        blocker = next((p for p in (path, *path.parents) if p.exists()), None)
        reason = (f"{blocker} is a file, not a folder" if blocker is not None and not blocker.is_dir()
                  else exc.strerror or str(exc))
        raise UserError(f"cannot write to {flag} {directory}: {reason}") from None
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class AtomicFile:
    """A text file written under a temporary name and renamed into place by commit()."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, self.temp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        self.handle: IO[str] = os.fdopen(handle, "w", encoding="utf-8", newline="")

    def commit(self) -> Path:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        os.chmod(self.temp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
        os.replace(self.temp, self.path)
        return self.path

    def abort(self) -> None:
        if not self.handle.closed:
            self.handle.close()
        if os.path.exists(self.temp):
            os.unlink(self.temp)


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
        self.abort() if exc_type else self.commit()


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
    """rejects.csv: row_number, Crash_ID, field, reason, detail and the row's raw values (JSON)."""

    def __init__(self, path: str | Path):
        self.file = AtomicFile(path)
        self._csv = csv.writer(self.file.handle)
        self._csv.writerow(REJECT_COLUMNS)
        self.count = 0

    def write(self, reject: Reject) -> None:
        raw = json.dumps(reject.raw, ensure_ascii=False, default=str)
        self._csv.writerow([safe_cell(v) for v in (reject.row_number if reject.row_number is not None else "",
                                                   reject.crash_id, reject.field, reject.reason, reject.detail, raw)])
        self.count += 1

    def commit(self) -> Path:
        return self.file.commit()

    def abort(self) -> None:
        self.file.abort()
