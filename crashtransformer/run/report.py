"""Counts, progress and run_report.json for `run`."""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from crashtransformer.core.config import flat_config
from crashtransformer.core.logs import log
from crashtransformer.core.runtime import peak_memory, versions
from crashtransformer.run.artifacts import REPORT, SUMMARIES
from crashtransformer.run.html import write_run_html
from crashtransformer.core.io import write_json_atomic
from crashtransformer.run.state import iter_jsonl

PROGRESS_EVERY_SECONDS = 30  # how often a run without a terminal logs done/total, rate and ETA


@dataclass
class RunStats:
    total_rows: int | None
    files_skipped: int = 0
    files_processed: int = 0
    summarized: int = 0
    rejected: int = 0
    already_done: int = 0
    resumed_rejects: int = 0  # rejected (and recorded) by an earlier, interrupted run of the same input
    generated_tokens: int = 0
    rows_done: int = 0
    in_chunk: float = 0.0  # crashes' worth of generation done in the chunk under way
    _started: float = field(default_factory=time.monotonic)
    _bar: object = None
    _ticker: threading.Event | None = None
    _ticker_thread: threading.Thread | None = None

    def start(self, total_rows: int) -> None:
        """Show progress: a bar on a terminal; otherwise a log line every PROGRESS_EVERY_SECONDS,
        from a timer thread, so a cron log moves even while one chunk is generating."""
        self.total_rows = total_rows
        self._started = time.monotonic()
        if sys.stderr.isatty():
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total_rows or None, unit="crash", desc="run")
            return
        self._ticker = threading.Event()
        self._ticker_thread = threading.Thread(target=self._tick, args=(self._ticker,), name="progress", daemon=True)
        self._ticker_thread.start()

    def _tick(self, stop: threading.Event) -> None:
        while not stop.wait(PROGRESS_EVERY_SECONDS):
            self.log_progress()

    def log_progress(self) -> None:
        done = self.summarized + self.in_chunk
        rate = done / max(time.monotonic() - self._started, 1e-9)
        position = self.rows_done + self.in_chunk
        left = (self.total_rows or 0) - position
        eta = f", ETA {left / rate:.0f}s" if rate > 0 and left > 0 else ""
        log.info("progress: %.0f/%s rows, %.2f crashes/s%s", position, self.total_rows or "?", rate, eta)

    def add_chunk(self, summaries: list[dict], generated_tokens: int) -> None:
        self.summarized += len(summaries)
        self.generated_tokens += generated_tokens

    def generating(self, crashes_done: float) -> None:
        """How far generation has got through the chunk under way (called as batches finish)."""
        if self._bar is not None:
            self._bar.update(int(crashes_done) - int(self.in_chunk))
        self.in_chunk = crashes_done

    def progress(self, step: int) -> None:
        """Count `step` more rows read (over all files), the chunk under way included."""
        if self._bar is not None:
            self._bar.update(step - int(self.in_chunk))
        self.rows_done += step
        self.in_chunk = 0.0

    @property
    def seconds(self) -> float:
        return time.monotonic() - self._started

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        if self._ticker is not None:
            self._ticker.set()
            self._ticker_thread.join(timeout=5)  # gone when close returns, not some moments later on a busy machine
            self._ticker, self._ticker_thread = None, None


# Per-crash 0/1 figures whose means run_report.json reports under these names (metrics/claims.py).
RATES = {"unsupported_claim_rate": "has_unsupported_claim", "speculation_rate": "has_speculation",
         "unsupported_claims_mean": "unsupported_claims"}
SUMMARY_SOURCES = ("model", "graph", "unknown")  # unknown: rows written before summary_source existed


def _aggregate_metrics(out_dir: Path) -> dict:
    """Means over every summarized crash in the directory (this run and earlier ones), summed
    while reading: memory stays flat however many crashes the directory holds. The claim rates
    count only crashes whose row carries the checker's figures (`claims_checked` of them)."""
    from crashtransformer.metrics.suite import RunningAggregate

    crashes = 0
    against_reference = RunningAggregate()
    columns = ("plan_coverage", "faithfulness_unigram", "has_hallucinated_specific", *RATES.values())
    plain = {key: [0, 0.0] for key in columns}
    sources = dict.fromkeys(SUMMARY_SOURCES, 0)
    for row in iter_jsonl(out_dir / SUMMARIES):
        metrics = row["metrics"]
        crashes += 1
        if "_bleu_sys_len" in metrics:
            against_reference.add(metrics)
        for key, total in plain.items():
            if metrics.get(key) is not None:
                total[0] += 1
                total[1] += metrics[key]
        source = row.get("summary_source")
        sources[source if source in sources else "unknown"] += 1
    result: dict = {"crashes": crashes, "with_reference": against_reference.examples}
    for key in columns[:3]:
        count, total = plain[key]
        result[f"{key}_mean"] = total / count if count else None
    for name, key in RATES.items():
        count, total = plain[key]
        result[name] = total / count if count else None
    result["claims_checked"] = plain["has_unsupported_claim"][0]
    result["summary_source"] = sources
    result["summaries_from_graph"] = sources["graph"]
    if against_reference.examples:
        result["against_reference"] = against_reference.result()[0]
    return result


def write_report(out_dir: Path, cfg, stats: RunStats, processor, store, started: float, identity) -> Path:
    """run_report.json; `identity` (run.identity.ModelIdentity) names the model even when no file was new."""
    stats.close()
    seconds = stats.seconds
    report = {
        "counts": {"files_processed": stats.files_processed, "files_skipped_already_done": stats.files_skipped,
                   "rows_read": stats.rows_done, "summarized": stats.summarized, "rejected": stats.rejected,
                   "skipped_already_done": stats.already_done,
                   "rejected_earlier": stats.resumed_rejects, "total_summarized_in_dir": len(store.done)},
        "throughput": {"wall_seconds": round(time.time() - started, 2), "generation_seconds": round(seconds, 2),
                       "crashes_per_second": round(stats.summarized / seconds, 3) if seconds > 0 else None,
                       "generated_tokens": stats.generated_tokens,
                       "generated_tokens_per_second": round(stats.generated_tokens / seconds, 1) if seconds else None},
        "memory": peak_memory(),
        "metrics": _aggregate_metrics(out_dir),
        "config": flat_config(cfg),
        "versions": versions(),
    }
    report["model"] = {"directory": identity.name}
    if processor is not None:  # run.crash.CrashProcessor, or run.classify.EncoderProcessor
        report.update(processor.report_sections(out_dir, cfg.seed))
    report["model"]["fingerprint"] = identity.fingerprint
    path = out_dir / REPORT
    write_json_atomic(path, report)
    page, spreadsheet = write_run_html(out_dir)
    log.info("report: %s; every crash in a spreadsheet: %s", page, spreadsheet)
    return path
