"""Batched generation: order kept under length sorting, candidates, device and dtype choice."""

from __future__ import annotations

import pytest
import torch
from transformers import GenerationConfig

from crashtransformer.core.errors import UserError
from crashtransformer.core.runtime import default_batch_size, pick_device, pick_dtype
from crashtransformer.infer.batching import length_sorted_batches
from crashtransformer.infer.generation import Candidate, TorchGenerator, generate_summaries, generate_with_backend
from crashtransformer.models.loading import load_model, load_tokenizer
from crashtransformer.plan.prompt import build_model_input, model_family

NARRATIVES = [
    "Unit 1 failed to control speed and struck Unit 2 in the 1200 block of Main St.",
    "U1 backed into V2 in a parking lot.",
    "Unit 2 was stopped at the light. Unit 1 followed too closely behind Unit 2 and struck it on IH 35 northbound.",
    "Unit #3 disregarded the signal.",
    "V2 changed lanes unsafely into Unit 1 at the intersection of Oak Ave and 5th St. The driver was not injured.",
]


class EchoBackend:
    """Returns each input's length and first id, so the test can see where every answer went."""

    def __init__(self):
        self.batches = []

    def generate(self, batch, keys):
        self.batches.append([len(ids) for ids in batch])
        return [[Candidate(f"{len(ids)}:{ids[0]}", None)] for ids in batch]


def test_results_come_back_in_input_order_whatever_the_batch_order():
    inputs = [[7] * 3, [8] * 9, [9] * 1, [10] * 5, [11] * 7]
    backend = EchoBackend()
    results = generate_with_backend(backend, inputs, batch_size=2)
    assert [r[0].text for r in results] == ["3:7", "9:8", "1:9", "5:10", "7:11"]
    assert backend.batches == [[9, 7], [5, 3], [1]]  # longest first, similar lengths together


def test_length_sorted_batches_cover_every_input_once():
    inputs = [[1] * n for n in (4, 1, 4, 2, 9, 3, 3)]
    batches = length_sorted_batches(inputs, 3)
    assert sorted(i for batch in batches for i in batch) == list(range(len(inputs)))
    assert all(len(batch) <= 3 for batch in batches)


@pytest.fixture(scope="module")
def bart(tiny_bart):
    return load_model(str(tiny_bart)), load_tokenizer(str(tiny_bart))


def _inputs(model, tokenizer):
    plan = ["1) failed to control speed -> rear-end collision"]
    return [build_model_input(n, plan, tokenizer, model_family(model), 64).input_ids for n in NARRATIVES]


def test_batched_generation_equals_one_at_a_time(bart):
    model, tokenizer = bart
    inputs = _inputs(model, tokenizer)
    config = GenerationConfig(max_new_tokens=8, num_beams=1, do_sample=False,
                              decoder_start_token_id=model.config.decoder_start_token_id,
                              eos_token_id=model.config.eos_token_id, pad_token_id=model.config.pad_token_id)
    batched = generate_summaries(model, tokenizer, inputs, batch_size=3, generation_config=config)
    single = [generate_summaries(model, tokenizer, [ids], batch_size=1, generation_config=config)[0]
              for ids in inputs]
    assert [c[0].text for c in batched] == [c[0].text for c in single]
    assert all(c[0].score is None for c in batched)  # one candidate: no scoring pass


def test_several_candidates_come_with_scores(bart):
    model, tokenizer = bart
    config = GenerationConfig(max_new_tokens=6, num_beams=3,
                              decoder_start_token_id=model.config.decoder_start_token_id,
                              eos_token_id=model.config.eos_token_id, pad_token_id=model.config.pad_token_id)
    results = generate_summaries(model, tokenizer, _inputs(model, tokenizer)[:3], batch_size=2,
                                 generation_config=config, num_return_sequences=3)
    assert [len(r) for r in results] == [3, 3, 3]
    assert all(isinstance(c.score, float) and c.score <= 0 for r in results for c in r)
    assert model.generation_config.num_return_sequences in (None, 1)  # the model's config is untouched


def test_more_candidates_than_beams_is_a_user_error(bart):
    model, tokenizer = bart
    with pytest.raises(UserError, match="num_beams"):
        TorchGenerator(model, tokenizer, GenerationConfig(num_beams=1), num_return_sequences=2)


def test_cpu_device_dtype_and_batch_size():
    cpu = pick_device("cpu")
    assert cpu.type == "cpu" and pick_dtype(cpu) is torch.float32 and default_batch_size(cpu) == 32
    assert default_batch_size(cpu, num_beams=4) == 8  # ~32 sequences in flight on a CPU
    assert pick_dtype(cpu, "bf16") is torch.bfloat16
    if not torch.cuda.is_available():
        assert pick_device("auto").type in ("cpu", "mps")
        with pytest.raises(UserError, match="no CUDA"):
            pick_device("cuda")


def test_no_autocast_on_cpu(bart):
    model, tokenizer = bart
    assert TorchGenerator(model, tokenizer).autocast_dtype is None


def test_nucleus_keeps_the_smallest_set_that_holds_top_p():
    from crashtransformer.infer.sampling import nucleus

    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    kept = nucleus(logits, 0.7).isfinite().tolist()[0]
    assert kept == [True, True, False, False]  # 0.5 < 0.7, 0.5 + 0.3 >= 0.7
    assert nucleus(logits, 0.4).isfinite().tolist()[0] == [True, False, False, False]  # the top token stays
    assert nucleus(logits, 1.0).isfinite().all()


def test_seeded_draws_follow_the_distribution_and_the_key():
    """Gumbel-max over the perturbed scores draws each token with its softmax probability, and a
    row's draws depend on its own seed only."""
    from crashtransformer.infer.sampling import SeededNucleusSampling, candidate_seed

    probs = torch.tensor([0.6, 0.3, 0.1])
    scores = torch.log(probs).repeat(4000, 1)
    seeds = [candidate_seed(1, f"crash-{i}", 0) for i in range(4000)]
    drawn = SeededNucleusSampling(seeds, 1.0, 1.0, "cpu")(None, scores).argmax(-1)
    frequencies = torch.bincount(drawn, minlength=3).float() / 4000
    assert torch.allclose(frequencies, probs, atol=0.03), frequencies
    alone = SeededNucleusSampling(seeds[7:8], 1.0, 1.0, "cpu")(None, scores[:1]).argmax(-1)
    assert alone.item() == drawn[7].item()  # the same draw without the other 3,999 rows
    assert candidate_seed(1, "a", 0) != candidate_seed(1, "a", 1) != candidate_seed(2, "a", 0)


def test_sampled_candidates_scores_equal_the_teacher_forced_pass(bart):
    """Sampling scores its candidates from the logits of each step; they are the mean token
    log-probabilities a separate teacher-forced pass gives."""
    model, tokenizer = bart
    config = GenerationConfig(max_new_tokens=10, do_sample=True, top_p=0.9, temperature=0.7,
                              pad_token_id=model.generation_config.pad_token_id,
                              decoder_start_token_id=model.generation_config.decoder_start_token_id,
                              eos_token_id=model.generation_config.eos_token_id)
    sampler = TorchGenerator(model, tokenizer, config, num_return_sequences=3, score=True, seed=5)
    inputs = _inputs(model, tokenizer)[:3]
    drawn = sampler.generate(inputs, ["a", "b", "c"])
    input_ids, attention_mask = sampler._pad(inputs)
    with torch.inference_mode():
        out = model.generate(input_ids=input_ids.repeat_interleave(3, 0), attention_mask=attention_mask.repeat_interleave(3, 0),
                             logits_processor=sampler._sampling_processor(["a", "b", "c"]),
                             generation_config=sampler.decoding_config)
        forced = sampler._sequence_scores(input_ids, attention_mask, out.sequences)
    ours = [c.score for options in drawn for c in options]
    assert len(ours) == 9 and None not in ours
    assert ours == pytest.approx(forced, abs=1e-4)


# ----------------------------------------------------------------------------- forbidden hedges

def test_every_spelling_of_every_hedge_becomes_a_forbidden_sequence(bart):
    from crashtransformer.infer.generation import forbidden_sequences
    from crashtransformer.metrics.claim_patterns import HEDGE_WORDS
    from crashtransformer.metrics.wording import JUDGMENT_WORDS

    _, tokenizer = bart
    sequences = forbidden_sequences(tokenizer)
    for word in HEDGE_WORDS + JUDGMENT_WORDS:
        for form in (word, " " + word, word.capitalize(), " " + word.capitalize()):
            assert tokenizer(form, add_special_tokens=False)["input_ids"] in sequences


def _common_tokens(token_lists, count: int = 3) -> list:
    everything = [t for tokens in token_lists for t in tokens]
    return sorted(set(everything), key=lambda t: -everything.count(t))[:count]


def test_both_backends_are_given_the_forbidden_sequences_and_never_emit_them(bart, tiny_bart, tmp_path):
    """The tokens an untrained model writes most, forbidden: neither backend writes them again."""
    from crashtransformer.core.config import ExportConfig, GenerationSettings
    from crashtransformer.infer.ctranslate2 import CTranslate2Generator, load_ctranslate2_model
    from crashtransformer.infer.export import export_model
    from crashtransformer.infer.generation import forbidden_sequences
    from crashtransformer.infer.summarizer import beam_config

    model, tokenizer = bart
    assert beam_config(GenerationSettings(), model, tokenizer).bad_words_ids == forbidden_sequences(tokenizer)
    inputs = _inputs(model, tokenizer)
    config = GenerationConfig(max_new_tokens=8, num_beams=2, decoder_start_token_id=model.config.decoder_start_token_id,
                              eos_token_id=model.config.eos_token_id, pad_token_id=model.config.pad_token_id)
    batch = tokenizer.pad({"input_ids": inputs}, return_tensors="pt")
    special = set(tokenizer.all_special_ids)

    def torch_ids():
        with torch.no_grad():
            out = model.generate(**batch, generation_config=config)
        return [[i for i in row.tolist() if i not in special] for row in out]

    common = _common_tokens(torch_ids())
    config.bad_words_ids = [[i] for i in common]
    assert not {i for row in torch_ids() for i in row} & set(common)
    pytest.importorskip("ctranslate2")
    exported_dir = export_model(ExportConfig(model=str(tiny_bart), output=str(tmp_path / "ct2"), quantization="float32"))
    exported, exported_tokenizer = load_ctranslate2_model(str(exported_dir))
    generator = CTranslate2Generator(exported, exported_tokenizer, config)
    options = generator._options()
    assert options["suppress_sequences"] == [exported_tokenizer.convert_ids_to_tokens(ids) for ids in config.bad_words_ids]
    sources = [exported_tokenizer.convert_ids_to_tokens(ids) for ids in inputs]
    written = [r.hypotheses[0] for r in exported.translator.translate_batch(sources, **options)]
    assert not {t for tokens in written for t in tokens} & set().union(*options["suppress_sequences"])
