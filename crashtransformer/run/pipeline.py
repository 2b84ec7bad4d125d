"""The `run` pipeline: crash files -> graphs, plans, prompts, candidates, best summaries.

    inputs (CSV/XLSX/JSONL, globs) --stream in chunks--> records | rejects
    records -> infer/summarizer.py: plan (plan/policy.py: the row's own, --graphs_file, or extracted)
               -> prompt (plan/prompt.py) -> beam + sampled candidates -> rerank (infer/rerank.py)
            -> run/crash.py: artifact rows, per-crash metrics against the reference when there is one
    artifacts appended per chunk (run/artifacts.py); run_report.json at the end (run/report.py)

Cron-safety comes from run/artifacts.py (append + fsync, resume) and run/state.py (lock, ledger).
"""

from __future__ import annotations

import glob
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from crashtransformer.core.errors import EXIT_OK, EXIT_PARTIAL, RetryError, UserError
from crashtransformer.core.index import DigestIndex
from crashtransformer.core.runtime import release_freed_memory
from crashtransformer.core.logs import log
from crashtransformer.metrics.text import release_bleu_cache
from crashtransformer.models.shipped import shipped_model_dir
from crashtransformer.run.artifacts import ArtifactStore, narrative_digest
from crashtransformer.run.crash import CrashProcessor
from crashtransformer.run.identity import ModelIdentity, check_model, model_identity
from crashtransformer.run.report import RunStats, write_report
from crashtransformer.run.state import DirectoryLock, InputLedger, file_digest
from crashtransformer.run.signals import stop_on_signals
from crashtransformer.core.io import check_writable_dir, reject_row

# Where `run` finds the shipped default model when neither --model nor --fine_tuned_model is given.
DEFAULT_MODEL_DIR = shipped_model_dir()


@dataclass
class InputFile:
    path: Path
    data_format: str | None = None  # None: by extension
    worksheet: str | None = None
    stamp: tuple[int, int, int] | None = None  # (inode, size, mtime) when its digest was taken


@dataclass
class RunResult:
    exit_code: int
    report_path: Path
    stats: RunStats = field(repr=False)


# ----------------------------------------------------------------------------- inputs


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


def resolve_model_dir(model: str | None, fine_tuned_model: str | None) -> str:
    if model and fine_tuned_model:
        raise UserError("pass either --model or --fine_tuned_model, not both")
    chosen = model or fine_tuned_model
    if chosen:
        return chosen
    if not (DEFAULT_MODEL_DIR / "config.json").is_file():
        raise UserError(f"no model given and the shipped default model is missing ({DEFAULT_MODEL_DIR}); "
                        "pass --model DIR (for example a train output's final_model)")
    from crashtransformer.models.loading import describe_provenance, read_provenance

    provenance = read_provenance(DEFAULT_MODEL_DIR)
    log.info("using the shipped default model at %s (%s)", DEFAULT_MODEL_DIR,
             describe_provenance(provenance) if provenance else "no provenance.json")
    return str(DEFAULT_MODEL_DIR)


# ----------------------------------------------------------------------------- chunks


@dataclass(frozen=True)
class Shard:
    """This process's share of the rows under `accelerate launch`/`torchrun` (row i -> i % world)."""

    rank: int = 0
    world_size: int = 1

    @classmethod
    def from_env(cls) -> "Shard":
        return cls(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)))

    def owns(self, index: int) -> bool:
        return index % self.world_size == self.rank


def record_reader(item: InputFile, cfg):
    """How `run` reads an input file: the one cleaning policy of data.records.RecordReader."""
    from crashtransformer.data.records import RecordReader

    return RecordReader(item.path, data_format=item.data_format, worksheet=item.worksheet,
                        text_column=cfg.text_column, summary_column=cfg.summary_column, id_column=cfg.id_column,
                        max_chars=cfg.max_chars, long_narratives="truncate", allow_empty=True)


def _process_file(item: InputFile, digest: str, cfg, processor: CrashProcessor, store: ArtifactStore,
                  stats: RunStats, shard: Shard, main_done: DigestIndex | dict, identity: ModelIdentity) -> int:
    """Stream one input file through the processor; return its row count."""
    from crashtransformer.data.records import Reject, chunked

    reader = record_reader(item, cfg)
    rows = changed = 0
    source = str(item.path)
    mine = (row for index, row in enumerate(reader) if shard.owns(index))
    for chunk in chunked(mine, cfg.chunk_size):
        check_unchanged(item, rows_before=rows)  # an exporter still writing: stop before using a torn row
        rows += len(chunk)
        rejects = [reject_row(r, source, digest) for r in chunk if isinstance(r, Reject)]
        todo = []
        for record in (r for r in chunk if not isinstance(r, Reject)):
            if record.crash_id in store.done or record.crash_id in main_done:
                # done before a kill, or in an earlier file (cumulative exports repeat yesterday's rows)
                stats.already_done += 1
                changed += store.narrative_changed(record.crash_id, record.narrative)
            else:
                todo.append(record)
        if cfg.limit is not None:
            todo = todo[:max(cfg.limit - stats.summarized, 0)]
        fresh_rejects = store.append_rejects(rejects)
        stats.rejected += fresh_rejects
        stats.resumed_rejects += len(rejects) - fresh_rejects
        if todo:
            graphs, summaries = processor.process(todo, source, digest, on_progress=stats.generating)
            for row, record in zip(summaries, todo):  # which model wrote it, from which text
                row.update(identity.as_row(), narrative_sha256=narrative_digest(record.narrative))
            store.append_chunk(graphs, summaries)
            stats.add_chunk(summaries, processor.last_generated_tokens)
            release_bleu_cache()
            release_freed_memory()  # what the chunk's metrics and a CTranslate2 chunk freed
        stats.progress(len(chunk))
        if cfg.limit is not None and stats.summarized >= cfg.limit:
            break
    check_unchanged(item, rows_before=rows)  # grown since the last chunk: not finished, not in the ledger
    if changed:
        log.warning("%s: %d Crash_IDs already summarized have another narrative here (an amended report?); "
                    "their summaries were kept: summarize them again with a new --out_dir", source, changed)
    return rows


# ----------------------------------------------------------------------------- run


def _pending_inputs(inputs: list[InputFile], ledger: InputLedger) -> list[tuple[InputFile, str]]:
    pending = []
    for item in inputs:
        digest = _steady_digest(item)
        if ledger.is_done(digest):
            log.info("skipping %s: already processed (same content, see %s)", item.path, ledger.path.name)
        else:
            pending.append((item, digest))
    return pending


def _stamp(path: Path) -> tuple[int, int, int]:
    stat = path.stat()
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def _steady_digest(item: InputFile) -> str:
    """The file's SHA-256, refused (exit 5) when the file vanishes or changes while it is hashed."""
    try:
        item.stamp = _stamp(item.path)
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
        now = _stamp(item.path)
    except FileNotFoundError:
        return
    if item.stamp is None or now[0] != item.stamp[0] or now == item.stamp:
        return
    raise RetryError(f"input {item.path} changed while it was read ({item.stamp[1]} -> {now[1]} bytes): is the "
                     f"exporter still writing it? The crashes of its first {rows_before} rows are kept; run the "
                     "same command again when the file is complete")


def make_processor(cfg, model_dir: str):
    """The processor for the model's task, read from its config: summaries, or labels/entities."""
    from crashtransformer.run.classify import EncoderProcessor, encoder_task

    task = encoder_task(model_dir, cfg.loading.trust_remote_code) if cfg.generation.backend != "ctranslate2" else None
    return EncoderProcessor.from_config(cfg, model_dir, task) if task else CrashProcessor.from_config(cfg, model_dir)


def metric_columns_of(processor) -> tuple[str, ...]:
    """summaries_metrics.csv columns for the processor's rows (a summarizer's unless it names others)."""
    from crashtransformer.run.artifacts import METRIC_COLUMNS

    return getattr(processor, "metric_columns", METRIC_COLUMNS)


def _summarize_pending(cfg, pending, store: ArtifactStore, stats: RunStats, shard: Shard, main_done: DigestIndex | dict,
                       identity: ModelIdentity) -> tuple[CrashProcessor | None, list[tuple[str, str, int]]]:
    """Process every pending file into `store`; return the processor and (digest, file, rows) done."""
    processor = make_processor(cfg, identity.name) if pending else None
    if processor is not None:
        store.use_metric_columns(metric_columns_of(processor))
    stats.start(total_rows=sum(_count_rows(item) for item, _ in pending) // shard.world_size)
    finished = []
    for item, digest in pending:
        if cfg.limit is not None and stats.summarized >= cfg.limit:
            break
        log.info("processing %s%s", item.path, f" (rank {shard.rank}/{shard.world_size})" if shard.world_size > 1 else "")
        rows = _process_file(item, digest, cfg, processor, store, stats, shard, main_done, identity)
        stats.files_processed += 1
        if cfg.limit is None:  # a --limit run has not finished the file
            finished.append((digest, str(item.path), rows))
    return processor, finished


def run(cfg) -> RunResult:
    """Summarize every crash of the inputs into cfg.out_dir; resumable and lock-protected.

    Under `accelerate launch` / `torchrun` each process takes every world_size-th row into its
    own part directory (out_dir/.parts/rank<N>), then the main process merges the parts."""
    started = time.time()
    inputs = expand_inputs(cfg.csv, cfg.jsonl, cfg.xlsx, cfg.worksheet)
    out_dir = check_writable_dir(cfg.out_dir, "--out_dir")
    shard = Shard.from_env()
    identity = model_identity(resolve_model_dir(cfg.model, cfg.fine_tuned_model))
    with stop_on_signals():  # SIGTERM / Ctrl-C: finish the current write, release the lock, exit 130
        if shard.world_size > 1:
            return _run_sharded(cfg, inputs, shard, started, identity)
        return _run_single(cfg, inputs, out_dir, shard, started, identity)


def _run_single(cfg, inputs: list[InputFile], out_dir: Path, shard: Shard, started: float,
                identity: ModelIdentity) -> RunResult:
    with DirectoryLock(out_dir):
        store = ArtifactStore(out_dir).open()
        check_model(out_dir, identity, holds_summaries=bool(store.done))
        ledger = InputLedger(out_dir, rebuild=cfg.rebuild_ledger)
        pending = _pending_inputs(inputs, ledger)
        stats = RunStats(total_rows=None, files_skipped=len(inputs) - len(pending))
        processor, finished = _summarize_pending(cfg, pending, store, stats, shard, {}, identity)
        for digest, source, rows in finished:
            ledger.mark_done(digest, source, rows)
        report_path = write_report(out_dir, cfg, stats, processor, store, started, identity)
    return _result(stats, report_path, out_dir)


def _run_sharded(cfg, inputs: list[InputFile], shard: Shard, started: float, identity: ModelIdentity) -> RunResult:
    import contextlib
    import shutil

    import torch.distributed as dist

    if not dist.is_initialized():  # the launcher set RANK/WORLD_SIZE/MASTER_ADDR; gloo runs anywhere
        dist.init_process_group(backend="gloo")
    main = shard.rank == 0
    out_dir = Path(cfg.out_dir)
    part_dir = out_dir / ".parts" / f"rank{shard.rank}"
    with DirectoryLock(out_dir) if main else contextlib.nullcontext():
        if main:
            main_store = ArtifactStore(out_dir).open()  # repairs a killed run's files first
            check_model(out_dir, identity, holds_summaries=bool(main_store.done))
            main_ledger = InputLedger(out_dir, rebuild=cfg.rebuild_ledger)
        dist.barrier()  # the others read the repaired files and the ledger rank 0 may have set anew
        main_done = main_store.done if main else ArtifactStore(out_dir).read_done()
        ledger = main_ledger if main else InputLedger(out_dir)
        pending = _pending_inputs(inputs, ledger)
        stats = RunStats(total_rows=None, files_skipped=len(inputs) - len(pending))
        with DirectoryLock(part_dir):
            part = ArtifactStore(part_dir).open()
            processor, finished = _summarize_pending(cfg, pending, part, stats, shard, main_done, identity)
        dist.barrier()
        report_path = out_dir / "run_report.json"
        if main:
            stats.summarized = stats.rejected = stats.resumed_rejects = 0  # from here on: counts over all ranks
            if processor is not None:
                main_store.use_metric_columns(metric_columns_of(processor))
            for rank in range(shard.world_size):
                summaries, rejects, earlier = main_store.merge_from(ArtifactStore(out_dir / ".parts" / f"rank{rank}"))
                stats.summarized, stats.rejected = stats.summarized + summaries, stats.rejected + rejects
                stats.resumed_rejects += earlier
                log.info("merged %d crashes and %d rejects from rank %d", summaries, rejects, rank)
            stats.rows_done = stats.summarized + stats.rejected + stats.resumed_rejects + stats.already_done
            for digest, source, rows in finished:
                ledger.mark_done(digest, source, rows)
            report_path = write_report(out_dir, cfg, stats, processor, main_store, started, identity)
            shutil.rmtree(out_dir / ".parts", ignore_errors=True)
        dist.barrier()
    dist.destroy_process_group()
    return _result(stats, report_path, out_dir)


def _result(stats: RunStats, report_path: Path, out_dir: Path) -> RunResult:
    # a rerun after a kill still reports the rows rejected before the kill: the output is partial
    exit_code = EXIT_PARTIAL if stats.rejected or stats.resumed_rejects else EXIT_OK
    log.info("done: %d summarized, %d rejected (%d more rejected earlier), %d already done; artifacts in %s",
             stats.summarized, stats.rejected, stats.resumed_rejects, stats.already_done, out_dir)
    return RunResult(exit_code, report_path, stats)


def _count_rows(item: InputFile) -> int:
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
