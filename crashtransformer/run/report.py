"""Counts, progress and run_report.json for `run`."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from crashtransformer.core.config import flat_config
from crashtransformer.core.logs import log
from crashtransformer.core.runtime import peak_memory, versions
from crashtransformer.run.artifacts import REPORT, SUMMARIES
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
    resumed_skips: int = 0
    resumed_rejects: int = 0  # rejected (and recorded) by an earlier, interrupted run of the same input
    generated_tokens: int = 0
    rows_done: int = 0
    _started: float = field(default_factory=time.monotonic)
    _last_log: float = 0.0
    _bar: object = None

    def start(self, total_rows: int) -> None:
        self.total_rows = total_rows
        self._started = self._last_log = time.monotonic()
        if sys.stderr.isatty():
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total_rows or None, unit="crash", desc="run")

    def add_chunk(self, summaries: list[dict], generated_tokens: int) -> None:
        self.summarized += len(summaries)
        self.generated_tokens += generated_tokens

    def progress(self, step: int) -> None:
        """Count `step` more rows read (over all files) and show or log the progress."""
        self.rows_done += step
        if self._bar is not None:
            self._bar.update(step)
            return
        now = time.monotonic()
        if now - self._last_log >= PROGRESS_EVERY_SECONDS:
            self._last_log = now
            rate = self.summarized / max(now - self._started, 1e-9)
            left = (self.total_rows or 0) - self.rows_done
            eta = f", ETA {left / rate:.0f}s" if rate > 0 and left > 0 else ""
            log.info("progress: %d/%s rows, %.2f crashes/s%s", self.rows_done, self.total_rows or "?", rate, eta)

    @property
    def seconds(self) -> float:
        return time.monotonic() - self._started

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _aggregate_metrics(out_dir: Path) -> dict:
    """Means over every summarized crash in the directory (this run and earlier ones), summed
    while reading: memory stays flat however many crashes the directory holds."""
    from crashtransformer.metrics.suite import RunningAggregate

    crashes = 0
    against_reference = RunningAggregate()
    plain = {key: [0, 0.0] for key in ("plan_coverage", "faithfulness_unigram", "has_hallucinated_specific")}
    for row in iter_jsonl(out_dir / SUMMARIES):
        metrics = row["metrics"]
        crashes += 1
        if "_bleu_sys_len" in metrics:
            against_reference.add(metrics)
        for key, total in plain.items():
            if metrics.get(key) is not None:
                total[0] += 1
                total[1] += metrics[key]
    result: dict = {"crashes": crashes, "with_reference": against_reference.examples}
    for key, (count, total) in plain.items():
        result[f"{key}_mean"] = total / count if count else None
    if against_reference.examples:
        result["against_reference"] = against_reference.result()[0]
    return result


def write_report(out_dir: Path, cfg, stats: RunStats, processor, store, started: float) -> Path:
    stats.close()
    seconds = stats.seconds
    report = {
        "counts": {"files_processed": stats.files_processed, "files_skipped_already_done": stats.files_skipped,
                   "rows_read": stats.rows_done, "summarized": stats.summarized, "rejected": stats.rejected,
                   "skipped_already_done": stats.resumed_skips,
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
    if processor is not None:  # run.crash.CrashProcessor, or run.classify.EncoderProcessor
        report.update(processor.report_sections(out_dir, cfg.seed))
    path = out_dir / REPORT
    write_json_atomic(path, report)
    return path
