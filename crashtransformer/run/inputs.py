"""What `run` reads: the input files named by --csv/--jsonl/--xlsx (globs expanded), their
digests taken while they hold still, the reader of each, and a fast row count for the ETA.

An input is stamped (inode, size, mtime) when its digest is taken and checked again before each
chunk and at its end: a file still growing is refused with exit 5 before a torn row is used
(docs/reliability.md, "The faults of a nightly job").
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

from crashtransformer.core.errors import RetryError, UserError
from crashtransformer.core.logs import log
from crashtransformer.core.io import file_digest


@dataclass
class InputFile:
    path: Path
    data_format: str | None = None  # None: by extension
    worksheet: str | None = None
    stamp: tuple[int, int, int] | None = None  # (inode, size, mtime) when its digest was taken


def expand_inputs(csv: list[str], jsonl: list[str], xlsx: str | None, worksheet: str | None) -> list[InputFile]:
    """Files named by --csv/--jsonl (globs allowed, each pattern in sorted order) and --xlsx."""
    files: list[InputFile] = []
    for pattern, fmt in [(p, "csv") for p in csv] + [(p, "jsonl") for p in jsonl]:
        matches = sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]
        if not matches:
            log.warning("no file matches %s", pattern)
        files.extend(InputFile(Path(m), fmt) for m in matches)
    if xlsx:
        files.append(InputFile(Path(xlsx), "xlsx", worksheet))
    if not files and not any(glob.has_magic(p) for p in csv + jsonl):
        raise UserError("no input given: pass --csv FILE (or a glob), --jsonl FILE or --xlsx FILE")
    for item in files:
        if not item.path.is_file():
            raise UserError(f"input file not found: {item.path}")
    return files


def record_reader(item: InputFile, cfg):
    """How `run` reads an input file: the one cleaning policy of data.records.RecordReader."""
    from crashtransformer.data.records import RecordReader

    return RecordReader(item.path, data_format=item.data_format, worksheet=item.worksheet,
                        text_column=cfg.text_column, summary_column=cfg.summary_column, id_column=cfg.id_column,
                        max_chars=cfg.max_chars, long_narratives="truncate", allow_empty=True)


def stamp(path: Path) -> tuple[int, int, int]:
    stat = path.stat()
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def steady_digest(item: InputFile) -> str:
    """The file's SHA-256, refused (exit 5) when the file vanishes or changes while it is hashed."""
    try:
        item.stamp = stamp(item.path)
        digest = file_digest(item.path)
    except FileNotFoundError:
        raise RetryError(f"input {item.path} disappeared before it was read (moved or deleted by another "
                         "process?); nothing was done: run again when it is back, or without it") from None
    check_unchanged(item, rows_before=0)
    return digest


def check_unchanged(item: InputFile, rows_before: int) -> None:
    """Refuse (exit 5) an input whose size or time changed since its digest was taken: it is still
    being written. A file removed or renamed over is not a change: the open file reads on whole."""
    try:
        now = stamp(item.path)
    except FileNotFoundError:
        return
    if item.stamp is None or now[0] != item.stamp[0] or now == item.stamp:
        return
    raise RetryError(f"input {item.path} changed while it was read ({item.stamp[1]} -> {now[1]} bytes): is the "
                     f"exporter still writing it? The crashes of its first {rows_before} rows are kept; run the "
                     "same command again when the file is complete")


def count_rows(item: InputFile) -> int:
    """Rows of a file, for the progress total and ETA only: a fast pass with no validation."""
    import csv

    fmt = item.data_format or item.path.suffix.lower().lstrip(".")
    try:
        if fmt == "xlsx":
            from openpyxl import load_workbook

            book = load_workbook(item.path, read_only=True)
            try:
                sheet = book[item.worksheet] if item.worksheet else book.active
                return max((sheet.max_row or 1) - 1, 0)
            finally:
                book.close()
        with open(item.path, encoding="utf-8", errors="replace", newline="") as handle:
            if fmt == "jsonl":
                return sum(1 for line in handle if line.strip())
            return max(sum(1 for _ in csv.reader(handle)) - 1, 0)
    except Exception:  # the count only feeds the ETA; the real read reports any problem
        return 0
