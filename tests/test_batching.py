"""Generation batches sized by a token budget (infer/batching.py): the budget's arithmetic, the
cuts, out-of-memory halving under a budget, and the fixed batches of a CPU left as they were."""

from __future__ import annotations

import copy
import logging
import random
from types import SimpleNamespace

import pytest
import torch
from transformers import BartConfig, T5Config

from conftest import _mini_corpus, captured_log
from crashtransformer.core.errors import RetryError
from crashtransformer.infer.batching import (MAX_BATCH_TOKENS, MIN_BATCH_TOKENS, Batching, batch_cost,
                                             batching_phrase, choose_batching, dtype_bytes, kv_bytes_per_token,
                                             longest_first, token_budget, token_budget_batches)
from crashtransformer.infer.batching import length_sorted_batches
from crashtransformer.infer.generation import Candidate, TorchGenerator, generate_with_backend

# init-model's "tiny" preset (models/building.py) with the tests' 600-entry vocabulary
TINY_BART = BartConfig(vocab_size=600, d_model=64, encoder_layers=2, decoder_layers=2, encoder_attention_heads=2,
                       decoder_attention_heads=2, encoder_ffn_dim=128, decoder_ffn_dim=128)


# ----------------------------------------------------------------------------- the budget


def test_bytes_per_token_of_a_tiny_bart_by_hand():
    # bf16: KV 2 x 2 layers x 64 x 2 B = 512; encoder output 64 x 4 B = 256;
    # activations (ffn 128 + 4 x 64) x 2 B = 768; per-row logits ceil(600 x 4 B x 4 copies / 64) = 150
    assert kv_bytes_per_token(TINY_BART, 2) == 512 + 256 + 768 + 150 == 1686
    # kept logits (scored samples): one float32 vocabulary per token more
    assert kv_bytes_per_token(TINY_BART, 2, kept_logits=True) == 1686 + 600 * 4
    # fp32: KV 1024, encoder output 256, activations 1536, logits 150
    assert kv_bytes_per_token(TINY_BART, 4) == 1024 + 256 + 1536 + 150


def test_t5_field_names_and_an_attention_width_apart_from_d_model():
    config = T5Config(vocab_size=640, d_model=64, d_kv=16, num_heads=2, num_layers=3, num_decoder_layers=2, d_ff=128)
    # KV width = 2 heads x d_kv 16 = 32, not d_model: 2 x 2 x 32 x 2 B = 256; logits 640 x 16 / 64 = 160
    assert kv_bytes_per_token(config, 2) == 256 + 64 * 4 + (128 + 256) * 2 + 160


def test_token_budget_of_free_memory_with_its_bounds():
    free = 10 * 2**20
    assert token_budget(free, TINY_BART, 2) == int(free * 0.8) // 1686 == 4975
    assert token_budget(free, TINY_BART, 2, fraction=0.5) == int(free * 0.5) // 1686
    assert token_budget(2**40, TINY_BART, 2) == MAX_BATCH_TOKENS  # capped
    assert token_budget(0, TINY_BART, 2) == MIN_BATCH_TOKENS  # never below one sequence
    assert dtype_bytes(torch.bfloat16) == 2 and dtype_bytes(torch.float32) == 4
    assert dtype_bytes("int8_float16") == 2 and dtype_bytes("float32") == 4 and dtype_bytes("int8") == 4


# ----------------------------------------------------------------------------- the cuts


@pytest.mark.parametrize("seed", range(5))
def test_token_batches_keep_the_budget_cover_every_input_once_longest_first(seed):
    rng = random.Random(seed)
    lengths = [rng.randint(1, 120) for _ in range(rng.randint(1, 60))]
    budget, new, rows = rng.choice([200, 1000, 5000]), rng.choice([0, 16, 64]), rng.choice([1, 2, 4])
    batches = token_budget_batches(lengths, budget, new, rows)
    flat = [i for batch in batches for i in batch]
    assert flat == longest_first(lengths)  # every index once, longest first, batch after batch
    for batch in batches:
        assert len(batch) == 1 or len(batch) * rows * (max(lengths[i] for i in batch) + new) <= budget
        assert batch_cost(batch, lengths, new, rows) <= budget or len(batch) == 1
    for batch, following in zip(batches, batches[1:]):  # greedy: the next input would not have fit
        assert batch_cost(batch + following[:1], lengths, new, rows) > budget


def test_an_input_over_the_budget_gets_a_batch_of_its_own():
    lengths = [10, 300, 12, 11]
    # 300 + 20 new tokens, 2 rows = 640 > 500; the rest fit together: 3 x 2 x (12 + 20) = 192
    assert token_budget_batches(lengths, 500, 20, 2) == [[1], [2, 3, 0]]


def test_a_fixed_size_cuts_as_length_sorted_batches_did():
    inputs = [[1] * n for n in (4, 1, 4, 2, 9, 3, 3, 7, 7, 1)]
    lengths = [len(ids) for ids in inputs]
    for size in (1, 3, 4, 32):
        expected = [order[start:start + size] for order in [sorted(range(10), key=lambda i: lengths[i], reverse=True)]
                    for start in range(0, 10, size)]  # the pre-batching.py definition
        assert length_sorted_batches(inputs, size) == expected
        assert Batching(size=size).cut(longest_first(lengths), lengths, 128, 4) == expected  # tokens not counted


class RecordingBackend:
    """Answers each input with its position; records each batch's indices and token cost, and runs
    out of memory (as a full GPU) on batches over `fits` tokens."""

    schedules_batches = False

    def __init__(self, inputs, fits: int | None = None, max_new_tokens: int = 8, sequences_per_input: int = 2):
        self.positions = {id(ids): i for i, ids in enumerate(inputs)}
        self.lengths = [len(ids) for ids in inputs]
        self.fits, self.max_new_tokens, self.sequences_per_input = fits, max_new_tokens, sequences_per_input
        self.batches, self.costs = [], []

    def generate(self, batch, keys):
        indices = [self.positions[id(ids)] for ids in batch]
        cost = batch_cost(indices, self.lengths, self.max_new_tokens, self.sequences_per_input)
        self.batches.append(indices)
        self.costs.append(cost)
        if self.fits is not None and cost > self.fits:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 MiB")
        return [[Candidate(f"summary of {key} ({len(ids)} tokens)", None)] for ids, key in zip(batch, keys)]


def test_without_a_budget_the_batches_are_exactly_as_before():
    inputs = [[5] * n for n in (4, 1, 4, 2, 9, 3, 3)]
    as_int, as_fixed = RecordingBackend(inputs), RecordingBackend(inputs)
    assert generate_with_backend(as_int, inputs, 3) == generate_with_backend(as_fixed, inputs, Batching(size=3))
    assert as_int.batches == as_fixed.batches == length_sorted_batches(inputs, 3)


def test_a_budget_cuts_by_tokens_and_keeps_input_order():
    inputs = [[5] * n for n in (30, 2, 17, 5, 30, 9, 1, 12)]
    backend = RecordingBackend(inputs)
    found = generate_with_backend(backend, inputs, Batching(tokens=200))
    assert [c[0].text for c in found] == [f"summary of {i} ({len(ids)} tokens)" for i, ids in enumerate(inputs)]
    assert backend.batches == token_budget_batches([len(i) for i in inputs], 200, 8, 2)
    assert max(backend.costs) <= 200 and len(backend.batches) > 1


# ----------------------------------------------------------------------------- out of memory


@pytest.fixture
def warnings_of_the_package():
    with captured_log(logging.WARNING) as records:
        yield records


def test_out_of_memory_under_a_budget_halves_it_and_results_are_unchanged(warnings_of_the_package):
    rng = random.Random(3)
    inputs = [[5] * rng.randint(2, 40) for _ in range(40)]
    calm = generate_with_backend(RecordingBackend(inputs), inputs, Batching(tokens=4000))
    backend = RecordingBackend(inputs, fits=700)
    found = generate_with_backend(backend, inputs, Batching(tokens=4000))
    assert found == calm  # the same candidates, in input order
    assert [c[0].text for c in found] == [f"summary of {i} ({len(ids)} tokens)" for i, ids in enumerate(inputs)]
    done = [batch for batch, cost in zip(backend.batches, backend.costs) if cost <= 700]
    assert [i for batch in done for i in batch] == longest_first([len(i) for i in inputs])  # still longest first
    assert backend.costs[0] > 700 and max(backend.costs) <= 4000
    messages = [r.getMessage() for r in warnings_of_the_package]
    assert messages and all(m.startswith("out of memory generating a batch of ") and "tokens" in m for m in messages)
    first = backend.costs[0]
    assert messages[0].endswith(f"({first} tokens); going on with batches of up to {(first + 1) // 2} tokens")


def test_a_single_input_over_memory_under_a_budget_is_a_retry_error():
    inputs = [[5] * 50, [5] * 3]
    with pytest.raises(RetryError, match=r"out of memory generating a single input \(CUDA out of memory"):
        generate_with_backend(RecordingBackend(inputs, fits=100), inputs, Batching(tokens=10_000))


# ----------------------------------------------------------------------------- choosing


def _settings(batch_size=None, max_batch_tokens=None):
    return SimpleNamespace(batch_size=batch_size, max_batch_tokens=max_batch_tokens)


def _loaded(device: str, free_bytes=None):
    return SimpleNamespace(device=torch.device(device), default_batch_size=32, free_bytes=free_bytes,
                           model=SimpleNamespace(config=TINY_BART), dtype=torch.bfloat16)


def test_a_cpu_or_a_batch_size_keeps_fixed_batches_cuda_gets_a_budget():
    assert choose_batching(_settings(), _loaded("cpu")) == Batching(size=32)
    assert choose_batching(_settings(max_batch_tokens=9000), _loaded("cpu")) == Batching(size=32)
    assert choose_batching(_settings(batch_size=8), _loaded("cuda", 2**30)) == Batching(size=8)
    assert choose_batching(_settings(max_batch_tokens=9000), _loaded("cuda", 2**30)) == Batching(tokens=9000)
    assert choose_batching(_settings(), _loaded("cuda", 10 * 2**20)) == Batching(tokens=4975)
    assert choose_batching(_settings(), _loaded("cuda")) == Batching(size=32)  # free memory unknown
    assert choose_batching(_settings(), _loaded("cpu"), default_size=8) == Batching(size=8)
    on_gpu, on_cpu = _loaded("cuda", 10 * 2**20), _loaded("cpu")
    assert batching_phrase(choose_batching(_settings(), on_gpu), _settings(), on_gpu) == \
        "token budget 4975 per batch (sized from 0.0 GiB free GPU memory)"
    assert batching_phrase(choose_batching(_settings(), on_cpu), _settings(), on_cpu) == \
        "batch size 32 (chosen for the device)"
    assert Batching(size=32).describe() == 32 and Batching(tokens=4975).describe() == "tokens:4975"
    with pytest.raises(ValueError):
        Batching(size=3, tokens=100)


# ----------------------------------------------------------------------------- a real model


def _greedy(model, tokenizer):
    greedy = copy.deepcopy(model.generation_config)
    # 4: no empty texts from an untrained model
    greedy.update(num_beams=1, max_new_tokens=10, min_new_tokens=4, no_repeat_ngram_size=0)
    return greedy


def _prompts(tokenizer, count: int = 24):
    corpus = _mini_corpus()
    return [tokenizer(" ".join(corpus[i:i + 1 + i % 4]))["input_ids"] for i in range(0, count * 5, 5)]


def test_a_budget_on_a_real_tiny_bart_gives_the_greedy_texts_of_fixed_batches(tiny_bart):
    from crashtransformer.models.loading import load_model, load_tokenizer

    model, tokenizer = load_model(str(tiny_bart)), load_tokenizer(str(tiny_bart))
    generator = TorchGenerator(model, tokenizer, _greedy(model, tokenizer))
    inputs = _prompts(tokenizer)
    fixed = generate_with_backend(generator, inputs, 8)
    budget = Batching(tokens=4 * (max(len(ids) for ids in inputs) + 10))  # batches of 4 to a dozen or so
    assert len(token_budget_batches([len(i) for i in inputs], budget.tokens, 10, 1)) > 2
    by_tokens = generate_with_backend(generator, inputs, budget)
    assert [c[0].text for c in by_tokens] == [c[0].text for c in fixed]
    assert all(c[0].text for c in fixed)  # real text was compared


def test_ctranslate2_under_a_budget_gives_the_texts_of_its_own_batches(tiny_bart):
    pytest.importorskip("ctranslate2")
    from crashtransformer.infer.backends import cached_conversion
    from crashtransformer.infer.ctranslate2 import CTranslate2Generator, load_ctranslate2_model

    model, tokenizer = load_ctranslate2_model(str(cached_conversion(str(tiny_bart))))
    config = _greedy(model, tokenizer)
    inputs = _prompts(tokenizer)
    own = generate_with_backend(CTranslate2Generator(model, tokenizer, config, batch_size=8), inputs, 8)
    budgeted = CTranslate2Generator(model, tokenizer, config, batch_size=Batching(tokens=600))
    assert not budgeted.schedules_batches and budgeted.sequences_per_input == 1
    assert [c[0].text for c in generate_with_backend(budgeted, inputs, Batching(tokens=600))] == \
        [c[0].text for c in own]
