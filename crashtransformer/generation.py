"""Batched generation, shared by `evaluate` and `run`.

Inputs are token-id lists built by `crashtransformer.prompt.build_model_input` (the one
prompt builder). `generate_summaries` sorts them by length so each batch pads little
(dynamic padding), generates under `torch.inference_mode` (autocast bf16/fp16 on GPU only),
and puts the candidates back in input order. The decoding itself sits behind a small backend
class (`TorchGenerator.generate(batch) -> candidates`) so a CTranslate2 backend can stand
beside it with the same shape.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from typing import Protocol, Sequence

from crashtransformer.logs import log

# Default batch sizes. On a CPU the best batch holds about 32 sequences in flight (crashes x
# beams): the shipped model on 2 cores ran greedy at 32.6 / 44.0 / 37.7 crashes/s with batches of
# 8 / 32 / 64, and with 4 beams at 12.9 / 12.7 / 8.8 with 8 / 16 / 32 (bench/bench_run.py
# measures the whole command). A GPU keeps scaling to its memory limit.
CPU_SEQUENCES = 32
GPU_BATCH_SIZE = 32  # under 24 GB of GPU memory
LARGE_GPU_BATCH_SIZE = 64  # 24 GB or more


@dataclass(frozen=True)
class Candidate:
    text: str
    score: float | None  # mean token log-probability under the model; None when not computed


class GenerationBackend(Protocol):
    # True: the backend is handed a whole chunk and cuts (and parallelises) its own batches
    schedules_batches: bool

    def generate(self, batch: Sequence[Sequence[int]]) -> list[list[Candidate]]:
        """Candidates for each input of one batch, in the batch's order."""


# ----------------------------------------------------------------------------- device


def pick_device(device: str = "auto"):
    """`auto`: the first CUDA GPU when present, else Apple MPS, else CPU; otherwise as named."""
    import torch

    if device and device != "auto":
        if device.startswith("cuda") and not torch.cuda.is_available():
            from crashtransformer.errors import UserError

            raise UserError(f"--device {device}: no CUDA GPU is visible here; use --device cpu or auto")
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def pick_dtype(device, dtype: str = "auto"):
    """`auto`: bfloat16 on GPUs that support it, float16 on older GPUs, float32 on CPU/MPS."""
    import torch

    if dtype and dtype != "auto":
        return {"fp32": torch.float32, "float32": torch.float32, "bf16": torch.bfloat16,
                "bfloat16": torch.bfloat16, "fp16": torch.float16, "float16": torch.float16}[dtype]
    if getattr(device, "type", str(device)) == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def default_batch_size(device, num_beams: int = 1) -> int:
    """A batch size that fits: by device kind and GPU memory; on a CPU, by beams too."""
    import torch

    if getattr(device, "type", str(device)) != "cuda":
        return max(1, CPU_SEQUENCES // max(1, num_beams))
    index = device.index if getattr(device, "index", None) is not None else 0
    memory_gb = torch.cuda.get_device_properties(index).total_memory / 2**30
    return LARGE_GPU_BATCH_SIZE if memory_gb >= 24 else GPU_BATCH_SIZE


# ----------------------------------------------------------------------------- torch backend


class TorchGenerator:
    """Hugging Face `model.generate` on one device, with dynamic padding per batch."""

    schedules_batches = False  # generate_with_backend cuts length-sorted batches for it

    def __init__(self, model, tokenizer, generation_config=None, num_return_sequences: int = 1,
                 score: bool | None = None, autocast_dtype=None):
        import torch

        self.model = model.eval()
        self.tokenizer = tokenizer
        # A copy: the candidate count is set on it, never on the caller's (or the model's) config.
        self.generation_config = copy.deepcopy(generation_config or model.generation_config)
        self.generation_config.num_return_sequences = num_return_sequences
        self.num_return_sequences = num_return_sequences
        # Scores cost one extra forward pass; worth it only when there is a choice to make.
        self.score = num_return_sequences > 1 if score is None else score
        self.device = next(model.parameters()).device
        on_gpu = self.device.type == "cuda"
        self.autocast_dtype = (autocast_dtype or pick_dtype(self.device)) if on_gpu else None
        if on_gpu and self.autocast_dtype is torch.float32:
            self.autocast_dtype = None
        self.encoder_decoder = bool(getattr(model.config, "is_encoder_decoder", False))
        beams = getattr(self.generation_config, "num_beams", 1) or 1
        sampling = bool(getattr(self.generation_config, "do_sample", False))
        if num_return_sequences > beams and not sampling:
            from crashtransformer.errors import UserError

            raise UserError(f"{num_return_sequences} candidates need --num_beams >= {num_return_sequences} "
                            "(or sampling)")

    def _pad(self, batch: Sequence[Sequence[int]]):
        padded = self.tokenizer.pad({"input_ids": [list(ids) for ids in batch]}, return_tensors="pt")
        return padded["input_ids"].to(self.device), padded["attention_mask"].to(self.device)

    def _autocast(self):
        import contextlib

        import torch

        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=self.autocast_dtype)

    def generate(self, batch: Sequence[Sequence[int]]) -> list[list[Candidate]]:
        import torch

        input_ids, attention_mask = self._pad(batch)
        with torch.inference_mode(), self._autocast():
            sequences = self.model.generate(input_ids=input_ids, attention_mask=attention_mask,
                                            generation_config=self.generation_config)
            if not self.encoder_decoder:  # decoder-only models echo the prompt: keep the continuation
                sequences = sequences[:, input_ids.shape[1]:]
            scores = self._sequence_scores(input_ids, attention_mask, sequences) if self.score else None
        texts = self.tokenizer.batch_decode(sequences, skip_special_tokens=True)
        n = self.num_return_sequences
        return [[Candidate(texts[i * n + k].strip(), None if scores is None else scores[i * n + k])
                 for k in range(n)] for i in range(len(batch))]

    def _sequence_scores(self, input_ids, attention_mask, sequences) -> list[float] | None:
        """Mean log-probability of each generated sequence (one teacher-forced forward pass)."""
        import torch

        if not self.encoder_decoder:
            return None
        n = self.num_return_sequences
        pad_id = self.generation_config.pad_token_id
        # generate() output starts with the decoder start token; labels are the tokens after it.
        labels = sequences[:, 1:].clone()
        decoder_input_ids = sequences[:, :-1]
        mask = labels.ne(pad_id) if pad_id is not None else torch.ones_like(labels, dtype=torch.bool)
        logits = self.model(input_ids=input_ids.repeat_interleave(n, 0),
                            attention_mask=attention_mask.repeat_interleave(n, 0),
                            decoder_input_ids=decoder_input_ids).logits.float()
        token_logp = torch.log_softmax(logits, -1).gather(-1, labels.unsqueeze(-1)).squeeze(-1)
        totals = (token_logp * mask).sum(-1) / mask.sum(-1).clamp(min=1)
        return totals.tolist()


# ----------------------------------------------------------------------------- native memory


@functools.lru_cache(maxsize=1)
def _libc():
    """The C library, looked up once (find_library runs a subprocess)."""
    import ctypes
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def release_freed_memory() -> None:
    """Hand the heap pages freed since the last call back to the OS (glibc's malloc_trim).

    Each batch frees tensors of shapes the next batch does not reuse exactly. glibc keeps those
    blocks in its heap; the heap fragments, later batches spill into pages freed long ago, and
    a long run's peak memory creeps up with the input's length. Trimming after every batch, not
    only after every chunk, cut the peak of a 40,000-crash run (in one process) from 1,115 to
    933 MB for about 4% of speed; `bench/bench_run.py memory` measures the whole command. A no-op
    where the C library has no malloc_trim (macOS, musl)."""
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is not None:
        trim(0)


# ----------------------------------------------------------------------------- batching


def length_sorted_batches(inputs: Sequence[Sequence[int]], batch_size: int) -> list[list[int]]:
    """Indices of `inputs`, longest first, cut into batches: similar lengths pad little, and an
    out-of-memory error shows up on the first batch rather than the last."""
    order = sorted(range(len(inputs)), key=lambda i: len(inputs[i]), reverse=True)
    return [order[start:start + batch_size] for start in range(0, len(order), max(1, batch_size))]


def generate_with_backend(backend: GenerationBackend, inputs: Sequence[Sequence[int]],
                          batch_size: int, progress: bool = False) -> list[list[Candidate]]:
    """Candidates for every input, in input order, whatever order the batches ran in."""
    from tqdm.auto import tqdm

    if getattr(backend, "schedules_batches", False):
        return backend.generate(inputs)
    results: list[list[Candidate] | None] = [None] * len(inputs)
    batches = length_sorted_batches(inputs, batch_size)
    for batch in tqdm(batches, desc="generating", unit="batch", disable=not progress):
        for index, candidates in zip(batch, backend.generate([inputs[i] for i in batch])):
            results[index] = candidates
        release_freed_memory()
    log.debug("generated %d inputs in %d batches of up to %d", len(inputs), len(batches), batch_size)
    return results  # type: ignore[return-value]


def generate_summaries(model, tokenizer, inputs: Sequence[Sequence[int]], batch_size: int | None = None,
                       generation_config=None, num_return_sequences: int = 1, score: bool | None = None,
                       progress: bool = False) -> list[list[Candidate]]:
    """`num_return_sequences` candidates per input (best first), in input order.

    `inputs` are the `input_ids` of `build_model_input(...)`; `generation_config` defaults to
    the model's own; `batch_size` defaults by device (see `default_batch_size`); `score` (mean
    token log-probability) defaults to on only when there are several candidates.
    """
    backend = TorchGenerator(model, tokenizer, generation_config, num_return_sequences, score)
    batch_size = batch_size or default_batch_size(backend.device, backend.generation_config.num_beams or 1)
    return generate_with_backend(backend, inputs, batch_size, progress)
