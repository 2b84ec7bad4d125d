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
from typing import Callable, Protocol, Sequence

from crashtransformer.core.errors import RetryError, UserError
from crashtransformer.core.logs import log
from crashtransformer.core.runtime import default_batch_size, pick_dtype, release_freed_memory
from crashtransformer.infer.batching import Batching, as_batching, batch_cost, longest_first
from crashtransformer.metrics.claim_patterns import HEDGE_WORDS
from crashtransformer.metrics.wording import JUDGMENT_WORDS

OnDone = Callable[[int], None]  # told how many inputs of a call are finished
# New tokens a token budget counts per row when a config leaves max_new_tokens unset: the
# default --max_new_tokens (core/settings.py)
DEFAULT_NEW_TOKENS = 128


@dataclass(frozen=True)
class Candidate:
    text: str
    score: float | None  # mean token log-probability under the model; None when not computed


class GenerationBackend(Protocol):
    # True: the backend is handed a whole chunk and cuts (and parallelises) its own batches
    schedules_batches: bool

    def generate(self, batch: Sequence[Sequence[int]], keys: Sequence[str]) -> list[list[Candidate]]:
        """Candidates for each input of one batch, in the batch's order; `keys` name the inputs
        (Crash_IDs): sampled candidates are drawn from streams seeded by them."""


def forbidden_sequences(tokenizer) -> list[list[int]]:
    """Token sequences no summary may contain: every hedge of metrics/claim_patterns.py and every
    judgment word of metrics/wording.py, as it is spelled at a sentence start, mid-sentence and
    capitalised. Both backends take them (GenerationConfig.bad_words_ids; CTranslate2's suppress_sequences)."""
    spellings = {form for word in HEDGE_WORDS + JUDGMENT_WORDS
                 for form in (word, " " + word, word.capitalize(), " " + word.capitalize())}
    sequences = {tuple(tokenizer(form, add_special_tokens=False)["input_ids"]) for form in sorted(spellings)}
    return [list(ids) for ids in sorted(sequences) if ids]


# ----------------------------------------------------------------------------- torch backend


class TorchGenerator:
    """Hugging Face `model.generate` on one device, with dynamic padding per batch.

    A sampling config (`do_sample=True`) draws each candidate from its own stream, seeded from
    `seed` and the input's key (infer/sampling.py), so a crash's samples do not depend on its batch."""

    schedules_batches = False  # generate_with_backend cuts length-sorted batches for it

    def __init__(self, model, tokenizer, generation_config=None, num_return_sequences: int = 1,
                 score: bool | None = None, autocast_dtype=None, seed: int = 42):
        import torch

        self.model = model.eval()
        self.tokenizer = tokenizer
        # A copy: the candidate count is set on it, never on the caller's (or the model's) config.
        self.generation_config = copy.deepcopy(generation_config or model.generation_config)
        self.generation_config.num_return_sequences = num_return_sequences
        self.num_return_sequences = num_return_sequences
        self.seed = seed
        self.sampling = bool(getattr(self.generation_config, "do_sample", False))
        # Scores cost one extra forward pass; worth it only when there is a choice to make.
        self.score = num_return_sequences > 1 if score is None else score
        self.device = next(model.parameters()).device
        on_gpu = self.device.type == "cuda"
        self.autocast_dtype = (autocast_dtype or pick_dtype(self.device)) if on_gpu else None
        if on_gpu and self.autocast_dtype is torch.float32:
            self.autocast_dtype = None
        self.encoder_decoder = bool(getattr(model.config, "is_encoder_decoder", False))
        beams = getattr(self.generation_config, "num_beams", 1) or 1
        if num_return_sequences > beams and not self.sampling:
            raise UserError(f"{num_return_sequences} candidates need --num_beams >= {num_return_sequences} "
                            "(or sampling)")
        self.decoding_config = greedy_over_draws(self.generation_config, self.score) if self.sampling \
            else self.generation_config
        # what a token budget counts (infer/batching.py): rows per input and new tokens per row
        self.sequences_per_input = num_return_sequences if self.sampling else max(beams, num_return_sequences)
        self.max_new_tokens = self.generation_config.max_new_tokens or DEFAULT_NEW_TOKENS

    def _pad(self, batch: Sequence[Sequence[int]]):
        padded = self.tokenizer.pad({"input_ids": [list(ids) for ids in batch]}, return_tensors="pt")
        return padded["input_ids"].to(self.device), padded["attention_mask"].to(self.device)

    def _autocast(self):
        import contextlib

        import torch

        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=self.autocast_dtype)

    def _sampling_processor(self, keys: Sequence[str]):
        """The per-row sampling processor: row i*n+k is candidate k of input i."""
        from transformers import LogitsProcessorList

        from crashtransformer.infer.sampling import SeededNucleusSampling, candidate_seed

        n, config = self.num_return_sequences, self.generation_config
        seeds = [candidate_seed(self.seed, key, k) for key in keys for k in range(n)]
        return LogitsProcessorList([SeededNucleusSampling(seeds, config.top_p or 1.0, config.temperature or 1.0,
                                                          self.device)])

    def generate(self, batch: Sequence[Sequence[int]], keys: Sequence[str]) -> list[list[Candidate]]:
        import torch

        input_ids, attention_mask = self._pad(batch)
        with torch.inference_mode(), self._autocast():
            if self.sampling:
                sequences, scores = self._draw(input_ids, attention_mask, keys)
            else:
                sequences = self.model.generate(input_ids=input_ids, attention_mask=attention_mask,
                                                generation_config=self.decoding_config)
                if not self.encoder_decoder:  # decoder-only models echo the prompt: keep the continuation
                    sequences = sequences[:, input_ids.shape[1]:]
                scores = self._sequence_scores(input_ids, attention_mask, sequences) if self.score else None
        texts = self.tokenizer.batch_decode(sequences, skip_special_tokens=True)
        n = self.num_return_sequences
        return [[Candidate(texts[i * n + k].strip(), None if scores is None else scores[i * n + k])
                 for k in range(n)] for i in range(len(batch))]

    def _draw(self, input_ids, attention_mask, keys: Sequence[str]):
        """(sequences, scores) of the sampled candidates: one row per candidate, each drawing from its
        own stream. The scores come from the raw logits of each step (`output_logits`), which are the
        teacher-forced pass's logits, so sampling needs no second forward pass."""
        n = self.num_return_sequences
        out = self.model.generate(input_ids=input_ids.repeat_interleave(n, 0),
                                  attention_mask=attention_mask.repeat_interleave(n, 0),
                                  logits_processor=self._sampling_processor(keys), generation_config=self.decoding_config)
        sequences = out.sequences if self.encoder_decoder else out.sequences[:, input_ids.shape[1]:]
        scores = self._step_scores(out.logits, sequences) if self.score and self.encoder_decoder else None
        return sequences, scores

    def _step_scores(self, logits, sequences) -> list[float]:
        """Mean log-probability of each sequence from the model's logits at each step."""
        import torch

        chosen = sequences[:, -len(logits):]  # the token picked at each step
        pad_id = self.generation_config.pad_token_id
        mask = chosen.ne(pad_id) if pad_id is not None else torch.ones_like(chosen, dtype=torch.bool)
        step_logp = torch.stack([torch.log_softmax(step.float(), -1) for step in logits], dim=1)
        token_logp = step_logp.gather(-1, chosen.unsqueeze(-1)).squeeze(-1)
        return ((token_logp * mask).sum(-1) / mask.sum(-1).clamp(min=1)).tolist()

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


def greedy_over_draws(config, keep_logits: bool):
    """What generate() runs for seeded sampling: one greedy pass over the perturbed scores of
    infer/sampling.py, which applies temperature and top-p itself; `keep_logits`: return each
    step's raw logits too (the candidates' scores)."""
    greedy = copy.deepcopy(config)
    greedy.do_sample, greedy.num_beams, greedy.num_return_sequences = False, 1, 1
    greedy.top_p = greedy.top_k = greedy.temperature = None  # unset, not ignored with a warning
    greedy.return_dict_in_generate, greedy.output_logits = True, keep_logits
    return greedy


# ----------------------------------------------------------------------------- batching


def generate_with_backend(backend: GenerationBackend, inputs: Sequence[Sequence[int]], batch_size: int | Batching,
                          keys: Sequence[str] | None = None, on_done: OnDone | None = None) -> list[list[Candidate]]:
    """Candidates for every input, in input order, whatever order the batches ran in. `batch_size`:
    inputs per batch, or a `Batching` (a fixed size or a token budget, infer/batching.py). `keys`
    name the inputs (Crash_IDs) for the sampling streams, by default their positions; `on_done`
    hears how many inputs are finished, as batches finish (run's progress). A batch that runs
    out of memory is split in half (or its budget halved) and the rest of the call goes on in
    the smaller batches, still longest first."""
    keys = [str(i) for i in range(len(inputs))] if keys is None else list(keys)
    if getattr(backend, "schedules_batches", False):
        return backend.generate(inputs, keys, on_done=on_done)
    batching = as_batching(batch_size)
    lengths = [len(ids) for ids in inputs]
    # a backend without these (a test's fake) counts one row of its input alone
    new_tokens, rows = getattr(backend, "max_new_tokens", 0), getattr(backend, "sequences_per_input", 1)
    results: list[list[Candidate] | None] = [None] * len(inputs)
    pending = batching.cut(longest_first(lengths), lengths, new_tokens, rows)
    finished = batches = 0
    while pending:
        batch = pending.pop(0)
        try:
            found = backend.generate([inputs[i] for i in batch], [keys[i] for i in batch])
        except Exception as error:  # only out-of-memory is handled; the rest is raised as it was
            if not is_out_of_memory(error):
                raise
            batching, found = smaller_batching(batching, batch_cost(batch, lengths, new_tokens, rows), len(batch),
                                               error), None
        if found is None:
            release_memory()  # out of the except block: the failed batch's frames, and tensors, are gone
            rest = batch + [index for later in pending for index in later]  # still longest first
            pending = batching.cut(rest, lengths, new_tokens, rows)
            continue
        for index, candidates in zip(batch, found):
            results[index] = candidates
        finished, batches = finished + len(batch), batches + 1
        if on_done is not None:
            on_done(finished)
        release_freed_memory()
    log.debug("generated %d inputs in %d batches, %s", len(inputs), batches, batching.label())
    return results  # type: ignore[return-value]


# ----------------------------------------------------------------------------- out of memory

# A CPU allocation failure reaches Python as a RuntimeError; torch's own words, and CTranslate2's
# ("CUDA failed with error out of memory", "std::bad_alloc").
OUT_OF_MEMORY_WORDS = ("out of memory", "can't allocate memory", "defaultcpuallocator", "bad_alloc")


def is_out_of_memory(error: BaseException) -> bool:
    """torch.OutOfMemoryError (CUDA), a failed CPU allocation, or CTranslate2's equivalent."""
    import torch

    if isinstance(error, (torch.OutOfMemoryError, MemoryError)):
        return True
    return isinstance(error, RuntimeError) and any(word in str(error).lower() for word in OUT_OF_MEMORY_WORDS)


def smaller_batch(size: int, error: BaseException) -> int:
    """Half of a batch of `size` that ran out of memory, said in a warning; a single input that
    does not fit is a RetryError (exit 5): no smaller batch can help, a freer machine can."""
    if size <= 1:
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise RetryError(f"out of memory generating a single input ({first_line}): free memory on this machine "
                         "(another job on the GPU?) or lower --num_beams or --max_new_tokens, then run the same "
                         "command again") from None
    half = (size + 1) // 2
    log.warning("out of memory generating a batch of %d; going on with batches of %d", size, half)
    return half


def smaller_budget(cost: int, size: int, error: BaseException) -> int:
    """Half the token cost of a batch of `size` inputs that ran out of memory, said in a warning;
    re-cut with it, that batch's first half is at most half as many inputs. A single input is
    smaller_batch's RetryError."""
    if size <= 1:
        smaller_batch(size, error)  # raises
    half = (cost + 1) // 2
    log.warning("out of memory generating a batch of %d (%d tokens); going on with batches of up to %d tokens",
                size, cost, half)
    return half


def smaller_batching(batching: Batching, cost: int, size: int, error: BaseException) -> Batching:
    """The batching to go on with after a batch of `size` inputs (`cost` tokens) ran out of memory."""
    if batching.tokens is None:
        return Batching(size=smaller_batch(size, error))
    return Batching(tokens=smaller_budget(cost, size, error))


def release_memory() -> None:
    """Hand back what a failed batch held: heap pages to the OS, cached CUDA blocks to the GPU."""
    import torch

    release_freed_memory()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def generate_summaries(model, tokenizer, inputs: Sequence[Sequence[int]], batch_size: int | None = None,
                       generation_config=None, num_return_sequences: int = 1, score: bool | None = None,
                       seed: int = 42) -> list[list[Candidate]]:
    """`num_return_sequences` candidates per input (best first), in input order.

    `inputs` are the `input_ids` of `build_model_input(...)`; `generation_config` defaults to
    the model's own; `batch_size` defaults by device (see `default_batch_size`); `score` (mean
    token log-probability) defaults to on only when there are several candidates.
    """
    backend = TorchGenerator(model, tokenizer, generation_config, num_return_sequences, score, seed=seed)
    batch_size = batch_size or default_batch_size(backend.device, backend.generation_config.num_beams or 1)
    return generate_with_backend(backend, inputs, batch_size)
