"""Plain text for tokenizer training (init-model): narratives and summaries from CSV, JSONL or TXT."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

from crashtransformer.core.errors import UserError

# Columns whose text is worth learning a vocabulary from, matched case-insensitively.
TEXT_COLUMNS = ("narrative", "summary", "text", "reference_summary", "best_summary", "investigator_summary")


def _csv_texts(path: Path, text_column: str | None) -> Iterator[str]:
    import pandas as pd

    try:
        chunks = pd.read_csv(path, dtype=str, chunksize=10_000, keep_default_na=False, encoding_errors="replace")
        for chunk in chunks:
            wanted = _pick_columns(list(chunk.columns), text_column, path)
            for column in wanted:
                yield from (text for text in chunk[column] if text.strip())
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise UserError(f"{path}: cannot read as CSV ({exc})") from None


def _pick_columns(columns: list[str], text_column: str | None, path: Path) -> list[str]:
    if text_column:
        if text_column not in columns:
            raise UserError(f"{path}: no column '{text_column}'; columns found: {', '.join(columns)}")
        return [text_column]
    wanted = [c for c in columns if c.strip().lower() in TEXT_COLUMNS]
    if not wanted:
        raise UserError(f"{path}: no text column found among {', '.join(columns)}; name one with --text_column")
    return wanted


def _jsonl_texts(path: Path, text_column: str | None) -> Iterator[str]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                raise UserError(f"{path}, line {number}: not valid JSON") from None
            keys = [text_column] if text_column else [k for k in row if str(k).lower() in TEXT_COLUMNS]
            yield from (str(row[k]) for k in keys if isinstance(row.get(k), str) and row[k].strip())


def read_corpus_texts(paths: list[str], text_column: str | None = None, max_rows: int = 200_000) -> list[str]:
    """Up to `max_rows` texts from the given files, in order."""
    if not paths:
        raise UserError("no corpus given: pass --corpus FILE (CSV, JSONL or TXT)")
    texts: list[str] = []
    for name in paths:
        path = Path(name)
        if not path.is_file():
            raise UserError(f"corpus file not found: {path}")
        suffix = path.suffix.lower()
        if suffix == ".csv":
            source = _csv_texts(path, text_column)
        elif suffix in (".jsonl", ".json"):
            source = _jsonl_texts(path, text_column)
        else:
            source = _txt_texts(path)
        for text in source:
            texts.append(text)
            if len(texts) >= max_rows:
                return texts
    return texts


def _txt_texts(path: Path):
    """Non-blank lines of a text file; the file closes however the reading ends."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.strip():
                yield line.strip()
