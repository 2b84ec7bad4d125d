"""The artifacts of `run` in one output directory, appended chunk by chunk, resumable.

Files (names kept from the original CrashTransformer):
- crash_graphs.jsonl     one crash graph per line
- crash_summaries.jsonl  Crash_ID, plan_lines, candidates, best_summary, reference_summary, metrics
- summaries_metrics.csv  one row per crash, flat metric columns (summary_source and the
                         unsupported claims as text among them)
- rejects.csv            rows that could not be processed and why
- run_report.json        written by run/report.py at the end (atomically)

crash_summaries.jsonl is the record of what is done: each chunk appends its graphs, metric
rows and rejects first and its summaries last, each write flushed and fsynced. After a kill,
`ArtifactStore.open` cuts torn last lines and drops graph and metric rows whose summary never
landed, so a rerun neither duplicates nor drops a crash.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Iterable, Iterator

from crashtransformer.core.index import UNKNOWN, DigestIndex
from crashtransformer.run.state import RERUN_KEEPS_WORK, append_jsonl, cut_torn_tail, iter_jsonl, iter_jsonl_lines
from crashtransformer.run.signals import deferred_signals
from crashtransformer.core.io import (REJECT_COLUMNS, AtomicFile, disk_full_is_retry, safe_cell, unneutralize,
                                      write_text_atomic)

GRAPHS = "crash_graphs.jsonl"
SUMMARIES = "crash_summaries.jsonl"
METRICS = "summaries_metrics.csv"
REJECTS = "rejects.csv"
REPORT = "run_report.json"
MERGE_BATCH = 512  # crashes (or rejects) a merge of a rank's part appends at a time

# Per-crash metric columns; reference-based ones stay empty when the input has no reference.
METRIC_COLUMNS = (
    "Crash_ID", "source_file", "summary_words", "narrative_words", "plan_steps", "plan_coverage",
    "faithfulness_unigram", "faithfulness_bigram", "hallucinated_specifics", "rerank_score", "model_score",
    "rouge1_f1", "rouge2_f1", "rougeL_f1", "rougeLsum_f1", "sentence_bleu", "length_ratio",
    # added later, so at the end: a directory of an earlier version is widened (use_metric_columns)
    "summary_source", "unsupported_claims", "has_unsupported_claim", "has_speculation", "unsupported_list",
)


def _csv_text(rows: Iterable[Iterable]) -> str:
    """CSV lines; text cells are neutralised against spreadsheet formulas, numbers are not."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows([[_cell(value) for value in row] for row in rows])
    return buffer.getvalue()


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.4f}"
    if isinstance(value, int):
        return str(value)
    return safe_cell(value)


def _append_text(path: Path, text: str) -> None:
    if not text:
        return
    with disk_full_is_retry(path, RERUN_KEEPS_WORK), open(path, "a", encoding="utf-8", newline="") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


class ArtifactStore:
    """Appends a run's results; knows which crashes are already done."""

    def __init__(self, out_dir: str | os.PathLike):
        self.dir = Path(out_dir)
        # Crash_ID -> the narrative_sha256 it was summarized from (as an int; UNKNOWN for old rows)
        self.done = DigestIndex()
        # source_sha256 + row_number already rejected: by content, as the ledger, so a changed
        # file under the same name gets its own rejects
        self.reject_keys = DigestIndex()
        self.metric_columns: tuple[str, ...] = METRIC_COLUMNS  # a classifier's or tagger's rows have others

    def path(self, name: str) -> Path:
        return self.dir / name

    # ------------------------------------------------------------------ resume

    def open(self) -> "ArtifactStore":
        """Repair what a kill may have left, then load the done set."""
        self.dir.mkdir(parents=True, exist_ok=True)
        for name in (GRAPHS, SUMMARIES, METRICS, REJECTS):
            cut_torn_tail(self.path(name))
        for row in iter_jsonl(self.path(SUMMARIES)):
            self._note_done(row)
        self._keep_only_done(GRAPHS)
        self.metric_columns = self._csv_header(METRICS) or self.metric_columns
        self._keep_only_done_csv(METRICS, self.metric_columns)
        self._ensure_header(REJECTS, REJECT_COLUMNS)
        for row in iter_csv_rows(self.path(REJECTS)):
            self.reject_keys.add(_reject_key(row))
        return self

    def merge_from(self, other: "ArtifactStore") -> tuple[int, int, int]:
        """Take another store's crashes and rejects that this one lacks (multi-process runs), a
        batch at a time (memory stays flat however many a rank wrote); return how many crashes and
        rejects were new, and how many rejects it held already."""
        fresh = fresh_rejects = rejects = 0
        # a part holds each crash once (its rank skipped what it had done): no check within a batch
        for batch in _batches(pair for pair in iter_paired(other.dir) if str(pair[0]["Crash_ID"]) not in self.done):
            self.append_chunk([graph for _, graph in batch if graph is not None], [summary for summary, _ in batch])
            fresh += len(batch)
        for batch in _batches(iter_csv_rows(other.path(REJECTS))):
            fresh_rejects += self.append_rejects(batch)
            rejects += len(batch)
        return fresh, fresh_rejects, rejects - fresh_rejects

    def read_done(self) -> DigestIndex:
        """The done set without repairing anything (for processes that must not write here)."""
        done = DigestIndex()
        for row in iter_jsonl(self.path(SUMMARIES)):
            done.add(str(row["Crash_ID"]))
        return done

    def _keep_only_done(self, name: str) -> None:
        """Drop lines of crashes whose summary never landed, and repeats (first one wins);
        streamed, so a directory of a million crashes is repaired in constant memory."""
        path = self.path(name)
        if not path.exists() or not self._has_strays(self._jsonl_ids(path)):
            return
        seen = DigestIndex()
        with AtomicFile(path) as out:
            for line, crash_id in self._jsonl_lines(path):
                if crash_id in self.done and seen.add(crash_id):
                    out.write(line)

    def _keep_only_done_csv(self, name: str, columns: tuple[str, ...]) -> None:
        path = self.path(name)
        if not self._ensure_header(name, columns) or not self._has_strays(self._csv_ids(path)):
            return
        seen = DigestIndex()
        with AtomicFile(path) as out:
            writer = csv.writer(out)
            writer.writerow(columns)
            for row in iter_csv_rows(path):
                crash_id = unneutralize(row["Crash_ID"])
                if crash_id in self.done and seen.add(crash_id):
                    writer.writerow([row[c] for c in columns])

    def _has_strays(self, crash_ids: Iterable[str]) -> bool:
        """Whether any line is of a crash not done, or repeats one."""
        seen = DigestIndex()
        return any(crash_id not in self.done or not seen.add(crash_id) for crash_id in crash_ids)

    @staticmethod
    def _jsonl_lines(path: Path):
        return ((line, str(row.get("Crash_ID"))) for line, row in iter_jsonl_lines(path))

    def _jsonl_ids(self, path: Path):
        return (crash_id for _, crash_id in self._jsonl_lines(path))

    @staticmethod
    def _csv_ids(path: Path):
        return (unneutralize(row["Crash_ID"]) for row in iter_csv_rows(path))

    def use_metric_columns(self, columns: tuple[str, ...]) -> None:
        """Write summaries_metrics.csv with `columns` (the model's task decides them); a directory
        already holding rows of another task's model is refused rather than mixed."""
        columns = tuple(columns)
        if columns == self.metric_columns:
            return
        if self.done and columns[:len(self.metric_columns)] == self.metric_columns:
            self._widen_csv(METRICS, columns)  # an earlier version's columns: the same kind of model
            return
        if self.done:
            from crashtransformer.core.errors import UserError

            raise UserError(f"{self.dir} holds results of another kind of model (its {METRICS} has columns "
                            f"{', '.join(self.metric_columns[:4])}, ...); use another --out_dir")
        self._rewrite(self.path(METRICS), _csv_text([columns]))
        self.metric_columns = columns

    def _widen_csv(self, name: str, columns: tuple[str, ...]) -> None:
        """Give the CSV the wider header; its rows get empty cells in the new columns."""
        path = self.path(name)
        padding = [""] * (len(columns) - len(self.metric_columns))
        with open(path, encoding="utf-8", newline="") as source, AtomicFile(path) as out:
            rows = csv.reader(source)
            next(rows, None)
            writer = csv.writer(out)
            writer.writerow(columns)
            writer.writerows(row + padding for row in rows)
        self.metric_columns = columns

    def _csv_header(self, name: str) -> tuple[str, ...] | None:
        path = self.path(name)
        if not path.exists() or path.stat().st_size == 0:
            return None
        with open(path, encoding="utf-8", newline="") as handle:
            return tuple(next(csv.reader(handle), ())) or None

    def _ensure_header(self, name: str, columns: tuple[str, ...]) -> bool:
        """Create the CSV with its header if missing; True when it already had rows."""
        path = self.path(name)
        if path.exists() and path.stat().st_size > 0:
            return True
        _append_text(path, _csv_text([columns]))
        return False

    @staticmethod
    def _rewrite(path: Path, text: str) -> None:
        write_text_atomic(path, text)

    # ------------------------------------------------------------------ append

    def append_rejects(self, rows: list[dict]) -> int:
        fresh = [r for r in rows if _reject_key(r) not in self.reject_keys]
        with deferred_signals():  # a SIGTERM waits for the rows to be on disk
            _append_text(self.path(REJECTS), _csv_text([[r.get(c, "") for c in REJECT_COLUMNS] for r in fresh]))
        for row in fresh:
            self.reject_keys.add(_reject_key(row))
        return len(fresh)

    def append_chunk(self, graphs: list[dict], summaries: list[dict]) -> None:
        """Graphs and metrics first, summaries last: a summary line means the crash is done.
        A SIGTERM during the three writes waits for all of them (signals.deferred_signals)."""
        rows = [metric_row(summary) for summary in summaries]
        with deferred_signals():
            append_jsonl(self.path(GRAPHS), graphs)
            _append_text(self.path(METRICS), _csv_text([[r.get(c) for c in self.metric_columns] for r in rows]))
            append_jsonl(self.path(SUMMARIES), summaries)
            for row in summaries:
                self._note_done(row)

    def _note_done(self, row: dict) -> None:
        self.done.add(str(row["Crash_ID"]), _digest_value(row.get("narrative_sha256")))

    def narrative_changed(self, crash_id: str, narrative: str) -> bool:
        """Whether a crash already done was summarized from another text (rows before narrative_sha256: no)."""
        known = self.done.get(crash_id)
        return known not in (None, UNKNOWN) and known != _digest_value(narrative_digest(narrative))


def _reject_key(row: dict) -> str:
    return f"{row['source_sha256']}:{row['row_number']}"


def _digest_value(narrative_sha256: str | None) -> int:
    """A narrative_sha256 (16 hex digits) as the done index's value."""
    try:
        return int(narrative_sha256, 16) if narrative_sha256 else UNKNOWN
    except ValueError:
        return UNKNOWN


def narrative_digest(narrative: str) -> str:
    """The narrative_sha256 of a summary row: which text (after cleaning) was summarized."""
    import hashlib

    return hashlib.sha256(narrative.encode("utf-8")).hexdigest()[:16]


def metric_row(summary: dict) -> dict:
    """The flat summaries_metrics.csv row of one crash_summaries.jsonl row."""
    best = summary["candidates"][0] if summary.get("candidates") else {}
    claims = summary.get("unsupported_claims")
    return {"Crash_ID": summary["Crash_ID"], "source_file": summary.get("source_file"),
            "summary_words": len((summary.get("best_summary") or "").split()),
            "plan_steps": len(summary.get("plan_lines") or []), "rerank_score": best.get("score"),
            "model_score": best.get("model_score"), "summary_source": summary.get("summary_source"),
            "unsupported_list": claims_text(claims) if isinstance(claims, list) else None,
            **summary.get("metrics", {})}


def claims_text(claims: list[dict] | None) -> str:
    """A row's unsupported claims ({type, text, span, reason}) as one cell: `type: text (reason); ...`,
    the form of metrics/claims.py's unsupported_list."""
    return "; ".join(f"{c.get('type', '?')}: {c.get('text', '')} ({c.get('reason', '')})" for c in claims or [])


def read_csv_rows(path: Path) -> list[dict]:
    return list(iter_csv_rows(path))


def iter_paired(out_dir: Path) -> Iterator[tuple[dict, dict | None]]:
    """(summary, graph or None) per crash of a directory, streamed: append_chunk writes both files
    chunk by chunk in one order, so a graph is never far ahead of its summary."""
    graphs = iter_jsonl(Path(out_dir) / GRAPHS)
    pending: dict[str, dict] = {}
    for summary in iter_jsonl(Path(out_dir) / SUMMARIES):
        crash_id = str(summary["Crash_ID"])
        while crash_id not in pending:
            graph = next(graphs, None)
            if graph is None:
                break
            pending[str(graph.get("Crash_ID"))] = graph
        yield summary, pending.pop(crash_id, None)


def _batches(items: Iterable, size: int = MERGE_BATCH) -> Iterator[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def iter_csv_rows(path: Path):
    """The rows of one of our CSVs, streamed (nothing when the file is absent)."""
    if not path.exists():
        return
    with open(path, encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)

