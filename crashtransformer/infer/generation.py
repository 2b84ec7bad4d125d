"""Batched generation, shared by `evaluate` and `run`.

Inputs are token-id lists built by `crashtransformer.plan.prompt.build_model_input` (the one
prompt builder). `generate_summaries` sorts them by length so each batch pads little
(dynamic padding), generates under `torch.inference_mode` (autocast bf16/fp16 on GPU only),
and puts the candidates back in input order. The decoding itself sits behind a small backend
class (`TorchGenerator.generate(batch) -> candidates`) so a CTranslate2 backend can stand
beside it with the same shape.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Protocol, Sequence

from crashtransformer.core.errors import UserError
from crashtransformer.core.logs import log
from crashtransformer.core.runtime import default_batch_size, pick_dtype, release_freed_memory

@dataclass(frozen=True)
class Candidate:
    text: str
    score: float | None  # mean token log-probability under the model; None when not computed


class GenerationBackend(Protocol):
    # True: the backend is handed a whole chunk and cuts (and parallelises) its own batches
    schedules_batches: bool

    def generate(self, batch: Sequence[Sequence[int]]) -> list[list[Candidate]]:
        """Candidates for each input of one batch, in the batch's order."""


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
