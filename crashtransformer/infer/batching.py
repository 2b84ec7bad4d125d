"""How generation batches are cut: a fixed count of inputs, or as many as fit a token budget.

A CPU, or a user's --batch_size, gets fixed batches (`length_sorted_batches`), exactly as before.
On a GPU a fixed count leaves the card idle for a small model (32 crashes of a 12M-parameter
BART fill a fraction of an H100), so without --batch_size a batch holds as many inputs as fit a
budget of sequence-tokens: rows (beams or samples per input) x (longest input + new tokens),
sized from the GPU's free memory at load (`token_budget`) or given by --max_batch_tokens.

Both cut indices longest first: similar lengths pad little, and an out-of-memory error shows up
on the first batch rather than the last (generation.generate_with_backend halves and re-cuts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

# Share of the GPU's free memory a batch may take: the rest is for the caching allocator's
# fragmentation (dynamic caches grow by concatenation, leaving freed blocks of every size),
# cuBLAS workspaces and the transient tensors the per-token formula does not count.
DEFAULT_FRACTION = 0.8
# The most tokens a budget gives: 1,024 crashes of 384 tokens with 2 beams and 128 new tokens
# (1,024 x 2 x 512); past hundreds of rows a decode step is bound by memory bandwidth, so larger
# batches buy little but a larger out-of-memory.
MAX_BATCH_TOKENS = 1 << 20
# The least: one sequence of the longest input the prompt builder makes (512 tokens) plus the
# default 128 new tokens. A single input over any budget still runs, in a batch of its own.
MIN_BATCH_TOKENS = 512 + 128
# Hidden states counted at fp32: under autocast, LayerNorm outputs (the encoder's last one is
# what every row keeps for cross-attention) are float32 whatever the weights' dtype.
HIDDEN_BYTES = 4
LOGIT_BYTES = 4  # generate() upcasts each step's logits to float32
# Vocabulary-sized float32 tensors per row and step: the logits, their log-softmax, the beam
# scores added to them, one processor's copy (no_repeat_ngram, bad words).
LOGIT_COPIES = 4
# Those per-row tensors are charged per token over at least this many tokens of the row (a short
# input plus new tokens); a shorter row is undercharged, which DEFAULT_FRACTION absorbs.
ROW_TOKENS_FLOOR = 64


@dataclass(frozen=True)
class Batching:
    """`size` inputs per batch (fixed), or as many inputs as fit `tokens` (a token budget)."""

    size: int | None = None
    tokens: int | None = None

    def __post_init__(self):
        if (self.size is None) == (self.tokens is None):
            raise ValueError("Batching takes a size or a token budget, exactly one")

    def describe(self) -> int | str:
        """For run_report.json and evaluation_results.json: 32, or "tokens:524288"."""
        return self.size if self.size is not None else f"tokens:{self.tokens}"

    def label(self) -> str:
        """For the log: "batch size 32", or "token budget 524288 per batch"."""
        return f"batch size {self.size}" if self.size is not None else f"token budget {self.tokens} per batch"

    def cut(self, order: Sequence[int], lengths: Sequence[int], max_new_tokens: int,
            sequences_per_input: int) -> list[list[int]]:
        """`order` (indices, longest first) cut into batches of this size or budget."""
        if self.size is not None:
            return cut_fixed(order, self.size)
        return cut_by_tokens(order, lengths, self.tokens, max_new_tokens, sequences_per_input)


def as_batching(batch_size: int | Batching) -> Batching:
    """A plain int is a fixed batch size (what every caller passed before token budgets)."""
    return batch_size if isinstance(batch_size, Batching) else Batching(size=int(batch_size))


# ----------------------------------------------------------------------------- cutting


def longest_first(lengths: Sequence[int]) -> list[int]:
    """Indices by length, longest first; equal lengths keep input order (sorted is stable)."""
    return sorted(range(len(lengths)), key=lambda i: lengths[i], reverse=True)


def cut_fixed(order: Sequence[int], batch_size: int) -> list[list[int]]:
    size = max(1, batch_size)
    return [list(order[start:start + size]) for start in range(0, len(order), size)]


def batch_cost(batch: Sequence[int], lengths: Sequence[int], max_new_tokens: int, sequences_per_input: int) -> int:
    """Sequence-tokens a batch holds: rows x (longest input, the padded width, + new tokens)."""
    if not batch:
        return 0
    return len(batch) * max(1, sequences_per_input) * (max(lengths[i] for i in batch) + max(0, max_new_tokens))


def cut_by_tokens(order: Sequence[int], lengths: Sequence[int], max_batch_tokens: int, max_new_tokens: int,
                  sequences_per_input: int) -> list[list[int]]:
    """`order` (longest first) cut greedily so each batch's `batch_cost` is at most the budget; an
    input over the budget on its own gets a batch of its own (it may still fit the GPU)."""
    rows, new = max(1, sequences_per_input), max(0, max_new_tokens)
    batches: list[list[int]] = []
    batch: list[int] = []
    widest = 0
    for index in order:
        width = max(widest, lengths[index])  # the padded width if this input joins
        if batch and (len(batch) + 1) * rows * (width + new) > max_batch_tokens:
            batches.append(batch)
            batch, width = [], lengths[index]
        batch.append(index)
        widest = width
    if batch:
        batches.append(batch)
    return batches


def token_budget_batches(lengths: Sequence[int], max_batch_tokens: int, max_new_tokens: int,
                         sequences_per_input: int) -> list[list[int]]:
    """Indices of inputs of these `lengths`, longest first, in batches within the token budget."""
    return cut_by_tokens(longest_first(lengths), lengths, max_batch_tokens, max_new_tokens, sequences_per_input)


def length_sorted_batches(inputs: Sequence[Sequence[int]], batch_size: int) -> list[list[int]]:
    """Indices of `inputs`, longest first, cut into batches of `batch_size` (the CPU's batches)."""
    return cut_fixed(longest_first([len(ids) for ids in inputs]), batch_size)


# ----------------------------------------------------------------------------- the budget


def _first(config, *names: str, default=None):
    """The first of `names` the config sets (BART, T5 and Pegasus spell the same thing apart)."""
    for name in names:
        value = getattr(config, name, None)
        if value is not None:
            return value
    return default


def decoder_shape(model_config) -> tuple[int, int, int]:
    """(decoder layers, attention width = heads x head size, d_model) of a seq2seq config."""
    d_model = _first(model_config, "d_model", "hidden_size")
    layers = _first(model_config, "decoder_layers", "num_decoder_layers", "num_layers", "num_hidden_layers")
    heads = _first(model_config, "decoder_attention_heads", "num_heads", "num_attention_heads")
    head_size = _first(model_config, "d_kv", "head_dim", default=d_model // heads)  # T5's d_kv may differ
    return int(layers), int(heads * head_size), int(d_model)


def kv_bytes_per_token(model_config, dtype_bytes: int, kept_logits: bool = False) -> int:
    """Bytes one sequence-token of a batch costs while it decodes: the KV caches, the encoder
    output every row keeps, and an allowance for activations.

    KV: each attention layer caches K and V of width heads x head size per position, so
    2 x decoder layers x width x dtype bytes per position (the usual KV-cache formula, e.g.
    Pope et al. 2022, "Efficiently Scaling Transformer Inference"). A row of an input
    of L tokens decoding N new ones holds cross-attention KV at its L encoder positions and
    self-attention KV at its N decoder positions: L + N positions, exactly the tokens a batch's
    cost counts, so the two caches together are that figure per counted token.
    `kept_logits`: generate() keeps every step's float32 logits (the sampled candidates' scores),
    a vocabulary's worth per generated token."""
    layers, width, d_model = decoder_shape(model_config)
    kv = 2 * layers * width * dtype_bytes
    encoder_output = d_model * HIDDEN_BYTES  # expanded to every beam/sample row by generate()
    # the encoder's widest transient per position (feed-forward inner layer, q/k/v/output), freed
    # before decoding begins but counted: the peak is whichever phase is larger
    ffn = _first(model_config, "encoder_ffn_dim", "d_ff", "ffn_dim", "intermediate_size", default=4 * d_model)
    activations = (int(ffn) + 4 * d_model) * dtype_bytes
    vocab = int(_first(model_config, "vocab_size", default=0))
    per_row_logits = -(-vocab * LOGIT_BYTES * LOGIT_COPIES // ROW_TOKENS_FLOOR)  # ceiling division
    kept = vocab * LOGIT_BYTES if kept_logits else 0
    return kv + encoder_output + activations + per_row_logits + kept


def token_budget(free_bytes: int, model_config, dtype_bytes: int, fraction: float = DEFAULT_FRACTION,
                 kept_logits: bool = False) -> int:
    """Sequence-tokens that fit in `fraction` of `free_bytes` (GPU memory free with the model
    loaded), between MIN_BATCH_TOKENS and MAX_BATCH_TOKENS."""
    fitting = int(free_bytes * fraction) // kv_bytes_per_token(model_config, dtype_bytes, kept_logits)
    return max(MIN_BATCH_TOKENS, min(MAX_BATCH_TOKENS, fitting))


def dtype_bytes(dtype) -> int:
    """Bytes per activation of a torch dtype or a CTranslate2 compute type ("int8_float16")."""
    itemsize = getattr(dtype, "itemsize", None)
    if isinstance(itemsize, int):
        return itemsize
    return 2 if "16" in str(dtype) else 4  # int8 alone computes in float32 (CTranslate2 on a CPU)


def choose_batching(settings, loaded, default_size: int | None = None, kept_logits: bool = False) -> Batching:
    """--batch_size when given; else on CUDA a token budget (--max_batch_tokens, else sized from
    the memory free at load, `loaded.free_bytes`); else `default_size` (by default the loaded
    model's device default), as before token budgets. `settings`: core.settings.GenerationSettings;
    `loaded`: infer.summarizer.LoadedModel."""
    if settings.batch_size:
        return Batching(size=settings.batch_size)
    size = default_size or loaded.default_batch_size
    if getattr(loaded.device, "type", str(loaded.device)) != "cuda":
        return Batching(size=size)
    if settings.max_batch_tokens:
        return Batching(tokens=settings.max_batch_tokens)
    free = getattr(loaded, "free_bytes", None)
    if free is None:  # the free memory could not be read: the fixed GPU default
        return Batching(size=size)
    return Batching(tokens=token_budget(free, loaded.model.config, dtype_bytes(loaded.dtype), kept_logits=kept_logits))


def batching_phrase(batching: Batching, settings, loaded) -> str:
    """The log's words for `batching` (what `choose_batching(settings, loaded)` chose), with where it came from."""
    if settings.batch_size:
        return batching.label()
    if batching.tokens is None:
        why = ""
        if getattr(loaded.device, "type", str(loaded.device)) == "cuda":
            why = "; free GPU memory unknown"
        elif settings.max_batch_tokens:
            why = "; --max_batch_tokens counts on CUDA only"
        return f"{batching.label()} (chosen for the device{why})"
    if settings.max_batch_tokens:
        return f"{batching.label()} (--max_batch_tokens)"
    return f"{batching.label()} (sized from {loaded.free_bytes / 2**30:.1f} GiB free GPU memory)"
