"""The `run` pipeline: crash files -> graphs, plans, prompts, candidates, best summaries.

    inputs (run/inputs.py: CSV/XLSX/JSONL, globs) --stream in chunks--> records | rejects
    records -> run/overlap.py: the steps of run/crash.py, beside generation when there are workers
               plan (plan/policy.py: the row's own, --graphs_file, or extracted) -> prompt (plan/prompt.py)
               -> beam + sampled candidates (infer/summarizer.py) -> rerank (infer/rerank.py)
               -> artifact rows, per-crash metrics against the reference when there is one
    artifacts appended per chunk, in order (run/artifacts.py); run_report.json at the end (run/report.py)

Cron-safety comes from run/artifacts.py (append + fsync, resume) and run/state.py (lock, ledger).
Under `accelerate launch`/`torchrun` every rank stops when one fails (`_every_rank_or_none`).
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from crashtransformer.core.errors import EXIT_INTERNAL, EXIT_OK, EXIT_PARTIAL, RetryError, UserError
from crashtransformer.core.index import DigestIndex
from crashtransformer.core.runtime import release_freed_memory
from crashtransformer.core.logs import log
from crashtransformer.metrics.text import release_bleu_cache
from crashtransformer.models.shipped import shipped_model_dir
from crashtransformer.run.artifacts import ArtifactStore, narrative_digest
from crashtransformer.run.classify import EncoderProcessor, encoder_task, require_generating_model
from crashtransformer.run.crash import CrashProcessor
from crashtransformer.run.inputs import InputFile, check_unchanged, count_rows, expand_inputs, record_reader, steady_digest
from crashtransformer.run.overlap import ChunkFlow, default_chunk_size, default_workers
from crashtransformer.run.identity import ModelIdentity, check_model, model_identity
from crashtransformer.run.report import RunStats, write_report
from crashtransformer.run.state import DirectoryLock, InputLedger
from crashtransformer.run.signals import stop_on_signals
from crashtransformer.core.io import check_writable_dir, reject_row

# Where `run` finds the shipped default model when neither --model nor --fine_tuned_model is given.
DEFAULT_MODEL_DIR = shipped_model_dir()


@dataclass
class RunResult:
    exit_code: int
    report_path: Path
    stats: RunStats = field(repr=False)


# ----------------------------------------------------------------------------- inputs


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


def _process_file(item: InputFile, digest: str, cfg, flow: ChunkFlow, chunk_size: int, store: ArtifactStore,
                  stats: RunStats, shard: Shard, main_done: DigestIndex | dict) -> int:
    """Stream one input file through the flow (run/overlap.py); return its row count."""
    from crashtransformer.data.records import Reject, chunked

    reader = record_reader(item, cfg)
    rows = changed = 0
    source = str(item.path)
    mine = (row for index, row in enumerate(reader) if shard.owns(index))
    for chunk in chunked(mine, chunk_size):
        _check_unchanged_keeping(item, rows, flow)  # an exporter still writing: stop before using a torn row
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
            todo = todo[:max(cfg.limit - stats.summarized - flow.in_flight, 0)]
        fresh_rejects = store.append_rejects(rejects)
        stats.rejected += fresh_rejects
        stats.resumed_rejects += len(rejects) - fresh_rejects
        flow.put(todo, len(chunk), source, digest)
        if cfg.limit is not None and stats.summarized + flow.in_flight >= cfg.limit:
            break
    _check_unchanged_keeping(item, rows, flow)  # grown since the last chunk: not finished, not in the ledger
    flow.drain()
    if changed:
        log.warning("%s: %d Crash_IDs already summarized have another narrative here (an amended report?); "
                    "their summaries were kept: summarize them again with a new --out_dir", source, changed)
    return rows


def _check_unchanged_keeping(item: InputFile, rows: int, flow: ChunkFlow) -> None:
    """check_unchanged, writing the chunks in flight first when it refuses: the message says they are kept."""
    try:
        check_unchanged(item, rows_before=rows)
    except RetryError:
        flow.drain()
        raise


def chunk_writer(store: ArtifactStore, stats: RunStats, identity: ModelIdentity):
    """What the flow calls with each chunk's rows, in chunk order: the only writer of the artifacts."""
    def write(records: list, graphs: list[dict], summaries: list[dict], tokens: int) -> None:
        for row, record in zip(summaries, records):  # which model wrote it, from which text
            row.update(identity.as_row(), narrative_sha256=narrative_digest(record.narrative))
        store.append_chunk(graphs, summaries)
        stats.add_chunk(summaries, tokens)
        release_bleu_cache()
        release_freed_memory()  # what the chunk's metrics and a CTranslate2 chunk freed
    return write


# ----------------------------------------------------------------------------- run


def _pending_inputs(inputs: list[InputFile], ledger: InputLedger) -> list[tuple[InputFile, str]]:
    pending = []
    for item in inputs:
        digest = steady_digest(item)
        if ledger.is_done(digest):
            log.info("skipping %s: already processed (same content, see %s)", item.path, ledger.path.name)
        else:
            pending.append((item, digest))
    return pending


def make_processor(cfg, model_dir: str):
    """The processor for the model's task, read from its config: summaries, or labels/entities."""
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
    finished = []
    if processor is None:
        return processor, finished
    stats.start(total_rows=sum(count_rows(item) for item, _ in pending) // shard.world_size)
    workers = default_workers(cfg.preprocessing_num_workers, processor)
    chunk_size = default_chunk_size(cfg.chunk_size, processor)
    try:
        with ChunkFlow(processor, workers, chunk_writer(store, stats, identity), stats.progress, stats.generating) as flow:
            for item, digest in pending:
                if cfg.limit is not None and stats.summarized >= cfg.limit:
                    break
                log.info("processing %s%s", item.path, f" (rank {shard.rank}/{shard.world_size})" if shard.world_size > 1 else "")
                rows = _process_file(item, digest, cfg, flow, chunk_size, store, stats, shard, main_done)
                stats.files_processed += 1
                if cfg.limit is None:  # a --limit run has not finished the file
                    finished.append((digest, str(item.path), rows))
    finally:
        stats.close()  # the progress ticker ends with the summarizing, also when it fails: a caller's process lives on
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
    if cfg.generation.backend == "ctranslate2":
        require_generating_model(identity.name, cfg.loading.trust_remote_code)
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
    import torch.distributed as dist

    if not dist.is_initialized():  # the launcher set RANK/WORLD_SIZE/MASTER_ADDR; gloo runs anywhere
        dist.init_process_group(backend="gloo")
    try:
        return _run_sharded_steps(cfg, inputs, shard, started, identity)
    finally:  # on an error too: a process group still alive at exit can abort the process ("terminate called ...")
        dist.destroy_process_group()


def _run_sharded_steps(cfg, inputs: list[InputFile], shard: Shard, started: float, identity: ModelIdentity) -> RunResult:
    main = shard.rank == 0
    out_dir = Path(cfg.out_dir)
    part_dir = out_dir / ".parts" / f"rank{shard.rank}"
    with contextlib.ExitStack() as held:
        with _every_rank_or_none():
            if main:
                held.enter_context(DirectoryLock(out_dir))
                main_store = ArtifactStore(out_dir).open()  # repairs a killed run's files first
                check_model(out_dir, identity, holds_summaries=bool(main_store.done))
                main_ledger = InputLedger(out_dir, rebuild=cfg.rebuild_ledger)
        with _every_rank_or_none():  # the others read the repaired files and the ledger rank 0 may have set anew
            main_done = main_store.done if main else ArtifactStore(out_dir).read_done()
            ledger = main_ledger if main else InputLedger(out_dir)
            pending = _pending_inputs(inputs, ledger)
            stats = RunStats(total_rows=None, files_skipped=len(inputs) - len(pending))
            with DirectoryLock(part_dir):
                part = ArtifactStore(part_dir).open()
                processor, finished = _summarize_pending(cfg, pending, part, stats, shard, main_done, identity)
        report_path = out_dir / "run_report.json"
        with _every_rank_or_none():
            if main:
                report_path = _merge_parts(cfg, out_dir, shard, stats, processor, main_store, ledger, finished,
                                           started, identity)
    return _result(stats, report_path, out_dir)


def _merge_parts(cfg, out_dir: Path, shard: Shard, stats: RunStats, processor, main_store: ArtifactStore,
                 ledger: InputLedger, finished: list, started: float, identity: ModelIdentity) -> Path:
    """Rank 0, once every rank is done: the parts merged into out_dir, the ledger, the report."""
    import shutil

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
    return report_path


class OtherRankError(UserError):
    """Another process's error, raised in every process of the run so all stop, with its exit code."""

    def __init__(self, message: str, exit_code: int | None):
        super().__init__(message)
        self.exit_code = exit_code if exit_code is not None else EXIT_INTERNAL


@contextlib.contextmanager
def _every_rank_or_none():
    """A barrier at the end of the block that every rank passes, or none: when one rank fails in
    the block (a held lock, a damaged ledger, a full disk), the others raise its error too instead
    of waiting at a barrier for ever."""
    import torch.distributed as dist

    failure: BaseException | None = None
    try:
        yield
    except Exception as error:  # a stop signal (KeyboardInterrupt) ends the process group anyway
        failure = error
    failures: list = [None] * dist.get_world_size()
    dist.all_gather_object(failures, None if failure is None else (type(failure).__name__, str(failure),
                                                                    getattr(failure, "exit_code", None)))
    if failure is not None:
        raise failure
    first = next((found for found in failures if found is not None), None)
    if first is not None:
        name, message, exit_code = first
        raise OtherRankError(f"another process of this run stopped ({name}): {message}", exit_code)


def _result(stats: RunStats, report_path: Path, out_dir: Path) -> RunResult:
    # a rerun after a kill still reports the rows rejected before the kill: the output is partial
    exit_code = EXIT_PARTIAL if stats.rejected or stats.resumed_rejects else EXIT_OK
    log.info("done: %d summarized, %d rejected (%d more rejected earlier), %d already done; artifacts in %s",
             stats.summarized, stats.rejected, stats.resumed_rejects, stats.already_done, out_dir)
    return RunResult(exit_code, report_path, stats)
