"""The CPU steps of `run` beside generation: graphs and prompts ahead of the model, checks and
scores behind it.

    main:    read a chunk, skip what is done ------------> workers: graphs, plans, prompts
    main:    generate (the device) ----------------------> workers: rerank, claim checks, metrics, rows
    main:    append the rows, in chunk order (the only writer)

With workers (`--preprocessing_num_workers N`, the default on a GPU) chunk k+1 is planned and
chunk k-1 finished while chunk k generates; each chunk's CPU work is split over the workers. At
most one chunk waits on each side of the one generating, so memory stays bounded. Without
workers (the default on a CPU, where generation already keeps every core busy) each chunk goes
through the three steps in turn and is written before the next is read, as it always was.

Exactly-once and resume are unchanged: only the main process writes, a crash is done when its
summary line is appended, and a stop (SIGTERM, Ctrl-C, a kill, an error) loses only chunks not
yet written, which the next run on the same --out_dir does again. Workers ignore SIGINT and
SIGTERM (the main process stops them) and die with the main process (Linux: PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import os
import signal
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from crashtransformer.core.config import DEFAULT_CHUNK_SIZE, GPU_CHUNK_SIZE
from crashtransformer.core.logs import log
from crashtransformer.run.crash import finish_chunk, plan_chunk

# Workers on a GPU when --preprocessing_num_workers is not given: graph extraction and the claim
# checks of one crash take about as long as generating it on a card, so a few processes keep up;
# one core is left to the main process (reading, the device, writing).
GPU_WORKERS = 4
# Chunks planned ahead of the one generating: one hides the planning; more only hold memory.
CHUNKS_AHEAD = 1

Write = Callable[[list, list[dict], list[dict], int], None]  # (records, graph rows, summary rows, tokens)


def default_workers(requested: int | None, processor) -> int:
    """--preprocessing_num_workers, or by device: 0 on a CPU (generation uses the cores), a few on a
    GPU. Only a summarizer's steps come apart (run/crash.py); a classifier or tagger runs as one."""
    splits = hasattr(processor, "plan") and hasattr(processor, "inputs")
    if requested is not None:
        if requested and not splits:
            log.warning("--preprocessing_num_workers is for summarizers; this model's task runs in one process")
        return requested if splits else 0
    return min(GPU_WORKERS, max((os.cpu_count() or 1) - 1, 1)) if _on_gpu(processor) and splits else 0


def default_chunk_size(requested: int | None, processor) -> int:
    """--chunk_size, or by device (core/config.py says why)."""
    if requested is not None:
        return requested
    return GPU_CHUNK_SIZE if _on_gpu(processor) else DEFAULT_CHUNK_SIZE


def _on_gpu(processor) -> bool:
    device = getattr(getattr(processor, "summarizer", processor), "device", None)
    return getattr(device, "type", str(device)) == "cuda"


# ----------------------------------------------------------------------------- worker processes

_WORKER: dict = {}  # a worker's model-input builder, set once when it starts


def _start_worker(inputs) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: main decides
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _die_with_parent()
    import torch

    torch.set_num_threads(1)  # tokenizing needs no thread pool; N workers x N threads would oversubscribe
    _WORKER["inputs"] = inputs


def _die_with_parent() -> None:
    """Ask Linux to kill this worker when the main process dies (SIGKILL cannot be cleaned up after)."""
    import ctypes

    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    except (AttributeError, OSError):  # not Linux: the executor still stops idle workers at exit
        pass


def _plan(records: list) -> tuple[list, list]:
    return plan_chunk(_WORKER["inputs"], records)


def _finish(records: list, planned: list, model_inputs: list, found: list, source: str, digest: str):
    from crashtransformer.metrics.text import release_bleu_cache

    try:
        return finish_chunk(_WORKER["inputs"], records, planned, model_inputs, found, source, digest)
    finally:
        release_bleu_cache()


# ----------------------------------------------------------------------------- the flow


@dataclass
class _Chunk:
    records: list  # the crashes to summarize (read, not yet done)
    rows: int  # input rows the chunk covers, rejects and crashes done before included (progress)
    source: str  # the input file and its digest, for the rows
    digest: str
    planned: list[Future] = field(default_factory=list)  # (planned, model inputs) of each piece
    finished: list[Future] = field(default_factory=list)  # (graphs, rows, tokens) of each piece


class ChunkFlow:
    """Moves chunks of one input through plan -> generate -> finish -> write, overlapped when
    there are workers. `put` each chunk in input order, `drain` at the end of the file."""

    def __init__(self, processor, workers: int, write: Write, on_generated: Callable[[int], None],
                 on_progress: Callable[[float], None] | None = None):
        self.processor, self.workers, self.write = processor, workers, write
        self.on_generated, self.on_progress = on_generated, on_progress
        self.pool = self._start_pool() if workers else None
        self.ahead: deque[_Chunk] = deque()
        self.behind: _Chunk | None = None

    def _start_pool(self) -> ProcessPoolExecutor:
        import multiprocessing

        # spawn, not fork: the main process holds CUDA and threads that a forked child must not inherit
        log.info("%d worker processes extract graphs and check summaries beside generation", self.workers)
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_worker, initargs=(self.processor.inputs,))

    @property
    def in_flight(self) -> int:
        """Crashes put but not yet written (for --limit)."""
        waiting = list(self.ahead) + ([self.behind] if self.behind else [])
        return sum(len(chunk.records) for chunk in waiting)

    def put(self, records: list, rows: int, source: str, digest: str) -> None:
        """One chunk's crashes to summarize, and the input rows it covers."""
        if not records:  # rejects and crashes done before: nothing to generate
            self.on_generated(rows)
            return
        if self.pool is None:
            self._in_turn(records, rows, source, digest)
            return
        chunk = _Chunk(records, rows, source, digest)
        chunk.planned = [self.pool.submit(_plan, piece) for piece in self._pieces(records)]
        self.ahead.append(chunk)
        while len(self.ahead) > CHUNKS_AHEAD:
            self._generate_oldest()

    def drain(self) -> None:
        """Generate and write every chunk still in flight (end of a file: the ledger needs it whole)."""
        while self.ahead:
            self._generate_oldest()
        self._write_behind()

    def close(self) -> None:
        """Stop the workers; chunks still in flight are dropped (the next run does them again)."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def __enter__(self) -> "ChunkFlow":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------------- steps

    def _in_turn(self, records: list, rows: int, source: str, digest: str) -> None:
        """No workers: the chunk whole, now, as `run` always did."""
        graphs, summaries = self.processor.process(records, source, digest, on_progress=self.on_progress)
        self.write(records, graphs, summaries, self.processor.last_generated_tokens)
        self.on_generated(rows)

    def _pieces(self, records: list) -> list[list]:
        size = -(-len(records) // self.workers)  # ceiling: one piece per worker
        return [records[start:start + size] for start in range(0, len(records), size)]

    def _generate_oldest(self) -> None:
        chunk = self.ahead.popleft()
        planned, model_inputs = _joined([future.result() for future in chunk.planned])
        found = self.processor.generate(chunk.records, model_inputs, self.on_progress)
        self.on_generated(chunk.rows)
        start = 0
        for piece in self._pieces(chunk.records):
            end = start + len(piece)
            chunk.finished.append(self.pool.submit(_finish, piece, planned[start:end], model_inputs[start:end],
                                                   found[start:end], chunk.source, chunk.digest))
            start = end
        chunk.planned = []  # the model inputs are not needed any more
        self._write_behind()  # the chunk before, finished while this one generated
        self.behind = chunk

    def _write_behind(self) -> None:
        if self.behind is None:
            return
        chunk, self.behind = self.behind, None
        graphs, summaries, tokens = [], [], 0
        for future in chunk.finished:
            piece_graphs, piece_rows, piece_tokens = future.result()
            graphs, summaries, tokens = graphs + piece_graphs, summaries + piece_rows, tokens + piece_tokens
        self.write(chunk.records, graphs, summaries, tokens)


def _joined(pieces: list[tuple[list, list]]) -> tuple[list, list]:
    planned, model_inputs = [], []
    for piece_planned, piece_inputs in pieces:
        planned.extend(piece_planned)
        model_inputs.extend(piece_inputs)
    return planned, model_inputs
