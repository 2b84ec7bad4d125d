"""The one generation path of summaries: model inputs -> beam and sampled candidates -> reranked.

`run` and `evaluate --model` both load a `Summarizer` and call `summarize`, so for the same rows,
settings and seed they choose the same best summaries. What it does, in order:

1. backend: torch or CTranslate2 (infer.backends decides, and says why), on the chosen device;
2. candidates: `num_candidates` beam candidates, then `num_samples` nucleus samples drawn by
   torch, each from a stream seeded by `seed`, the Crash_ID and the sample's number
   (infer/sampling.py), so a crash's summary does not depend on its batch, shard or resume;
3. choice: infer.rerank rejects candidates with claims the narrative does not support and orders
   the rest against its narrative and plan; when none is left, the crash's summary is realized
   from its graph (plan/realize.py) and marked `summary_source: graph`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from crashtransformer.core.settings import GenerationSettings, InputSettings, ModelLoading
from crashtransformer.core.errors import UserError
from crashtransformer.core.logs import log
from crashtransformer.core.runtime import default_batch_size, free_gpu_memory, pick_device, pick_dtype
from crashtransformer.infer.batching import Batching, batching_phrase, choose_batching
from crashtransformer.infer.generation import Candidate, TorchGenerator, forbidden_sequences, generate_with_backend
from crashtransformer.infer.rerank import RankedCandidate, clean_prefix, judge, rank_candidates
from crashtransformer.metrics.claim_facts import NarrativeFacts
from crashtransformer.models.loading import input_limit, load_model, load_tokenizer
from crashtransformer.plan.policy import ModelInputs
from crashtransformer.plan.realize import realizations, with_scene


def beam_config(settings: GenerationSettings, model, tokenizer=None):
    """The beam-search GenerationConfig: the model's own, with the settings that `run` exposes,
    and (given the tokenizer) the hedges forbidden."""
    config = copy.deepcopy(model.generation_config)
    if tokenizer is not None:
        config.bad_words_ids = forbidden_sequences(tokenizer)
    config.max_new_tokens = settings.max_new_tokens
    config.num_beams = max(settings.num_beams, settings.num_candidates)
    config.no_repeat_ngram_size = settings.no_repeat_ngram_size
    config.length_penalty = settings.length_penalty
    config.early_stopping = config.num_beams > 1
    config.max_length = None  # max_new_tokens rules
    return config


def sampling_config(settings: GenerationSettings, model, tokenizer=None):
    """The configuration of the sampled candidates: nucleus sampling, one sequence per draw."""
    config = beam_config(settings, model, tokenizer)
    config.num_beams, config.early_stopping, config.length_penalty = 1, False, 1.0
    config.do_sample, config.top_p, config.temperature = True, settings.top_p, settings.temperature
    return config


def make_generator(model, tokenizer, generation_config, num_candidates: int, batch_size: int | Batching):
    """(backend name, weight quantization, generator) for a torch model or a CTranslate2 export."""
    if hasattr(model, "translator"):  # an infer.ctranslate2.CTranslate2Model
        from crashtransformer.infer.ctranslate2 import CTranslate2Generator

        return ("ctranslate2", model.quantization,
                CTranslate2Generator(model, tokenizer, generation_config, num_return_sequences=num_candidates,
                                     batch_size=batch_size))
    return "torch", "none", TorchGenerator(model, tokenizer, generation_config, num_return_sequences=num_candidates)


def sampling_model_dir(model_dir: str) -> str:
    """The torch model that draws the sampled candidates: the model, or a CTranslate2 export's
    source (CTranslate2 keeps one random stream per worker, which cannot be seeded per crash)."""
    from crashtransformer.infer.ctranslate2 import is_ctranslate2_export, read_manifest

    if not is_ctranslate2_export(model_dir):
        return model_dir
    source = read_manifest(model_dir).get("source_model")
    if source and Path(source).is_dir():
        return source
    raise UserError(f"{model_dir} is a CTranslate2 export whose source model ({source}) is not here, and sampled "
                    "candidates are drawn by torch from the source model, each crash from its own seed: pass "
                    "--num_samples 0 (beam candidates only), or the source model directory as --model")


@dataclass
class LoadedModel:
    model: object  # a transformers model, or an infer.ctranslate2.CTranslate2Model
    tokenizer: object
    device: object
    dtype: object
    default_batch_size: int
    free_bytes: int | None = None  # GPU memory free with the model loaded: the token budget's base


def load_for_generation(model_dir: str, backend: str, loading: ModelLoading, device, dtype_name: str,
                        beams: int) -> LoadedModel:
    """The model and tokenizer as `backend` runs them on `device` (a model dir or an export)."""
    from crashtransformer.infer.ctranslate2 import refuse_export_for_torch

    if backend == "ctranslate2":
        from crashtransformer.infer.ctranslate2 import default_batch_size as ct2_batch_size
        from crashtransformer.infer.ctranslate2 import load_ctranslate2_model

        model, tokenizer = load_ctranslate2_model(model_dir, device)
        # the export's quantization, as this device runs it
        return LoadedModel(model, tokenizer, device, model.translator.compute_type, ct2_batch_size(device, beams),
                           free_gpu_memory(device))
    refuse_export_for_torch(model_dir)
    model = load_model(model_dir, "seq2seq", trust_remote_code=loading.trust_remote_code,
                       allow_pickle=loading.allow_pickle)
    model.to(device)
    model.generation_config.max_length = None  # --max_new_tokens rules (older trained models saved 20)
    dtype = pick_dtype(device, dtype_name)
    if device.type == "cuda" and dtype_name != "auto":
        model.to(dtype)  # an explicit dtype converts the weights; auto uses autocast
    tokenizer = load_tokenizer(model_dir, trust_remote_code=loading.trust_remote_code)
    return LoadedModel(model, tokenizer, device, dtype, default_batch_size(device, beams), free_gpu_memory(device))


class Summarizer:
    """A loaded model with its generators, input builder and settings: records in, ranked summaries out."""

    def __init__(self, loaded: LoadedModel, model_dir: str, settings: GenerationSettings, inputs: ModelInputs,
                 backend_reason: str = "", sampling: LoadedModel | None = None, seed: int = 42):
        """`sampling`: the torch model that draws the sampled candidates (by default `loaded`)."""
        self.model, self.tokenizer, self.model_dir = loaded.model, loaded.tokenizer, model_dir
        self.device, self.dtype = loaded.device, loaded.dtype
        self.settings, self.inputs, self.backend_reason = settings, inputs, backend_reason
        self.batch_size = choose_batching(settings, loaded)  # a Batching: fixed size, or a token budget on CUDA
        log.info("device %s, dtype %s, %s", self.device, str(self.dtype).replace("torch.", ""),
                 batching_phrase(self.batch_size, settings, loaded))
        self.generation_config = beam_config(settings, self.model, self.tokenizer)
        self.backend_name, self.quantization, self.beam = make_generator(
            self.model, self.tokenizer, self.generation_config, settings.num_candidates, self.batch_size)
        self.sampler, self.sampling_batch_size = None, self.batch_size
        if settings.num_samples > 0:
            drawer = sampling or loaded
            # each crash is num_samples rows of the batch; scored samples keep every step's logits
            self.sampling_batch_size = choose_batching(settings, drawer, default_batch_size(drawer.device,
                                                       settings.num_samples), kept_logits=settings.num_samples > 1)
            self.sampler = TorchGenerator(drawer.model, drawer.tokenizer, sampling_config(settings, drawer.model, drawer.tokenizer),
                                          num_return_sequences=settings.num_samples, seed=seed)

    @classmethod
    def load(cls, model_dir: str, settings: GenerationSettings, model_input: InputSettings, loading: ModelLoading,
             device: str = "auto", seed: int = 42, graphs: dict[str, dict] | None = None) -> "Summarizer":
        from crashtransformer.infer.backends import choose_backend

        torch_device = pick_device(device)
        choice = choose_backend(settings.backend, model_dir, torch_device, loading)
        log.info("backend %s (%s)", choice.name, choice.reason)
        loaded = load_for_generation(choice.model_dir, choice.name, loading, torch_device, settings.dtype,
                                     max(settings.num_beams, settings.num_candidates))
        sampling = None
        if settings.num_samples > 0 and choice.name == "ctranslate2":
            sampling = load_for_generation(sampling_model_dir(model_dir), "torch", loading, torch_device,
                                           settings.dtype, 1)
            log.info("sampled candidates: torch, each crash seeded by --seed and its Crash_ID")
        inputs = ModelInputs(loaded.tokenizer, loaded.model, input_limit(loaded.model.config, model_input.max_length),
                             model_input.no_plan, graphs)
        return cls(loaded, model_dir, settings, inputs, backend_reason=choice.reason, sampling=sampling, seed=seed)

    def candidates(self, input_ids: Sequence[Sequence[int]], keys: Sequence[str],
                   on_progress: Callable[[float], None] | None = None) -> list[list[Candidate]]:
        """Beam candidates, then sampled ones, for each input (named by its key), in input order.
        `on_progress` hears how many inputs' worth of the work is done (a float: two passes)."""
        passes = 2 if self.sampler is not None else 1

        def pass_progress(offset: int):
            return None if on_progress is None else (lambda done: on_progress((offset + done) / passes))

        found = generate_with_backend(self.beam, input_ids, self.batch_size, keys, pass_progress(0))
        if self.sampler is not None:
            drawn = generate_with_backend(self.sampler, input_ids, self.sampling_batch_size, keys,
                                          pass_progress(len(input_ids)))
            found = [beam + sampled for beam, sampled in zip(found, drawn)]
        return found

    def summarize(self, records: Sequence, on_progress: Callable[[float], None] | None = None) -> list["CrashSummary"]:
        """Plan, model input, candidates and their ranking for each record, in record order: the
        three steps below, which `run` may also take apart (run/overlap.py)."""
        planned, model_inputs = self.inputs.build_all(records)
        return choose_all(records, planned, model_inputs, self.generate(records, model_inputs, on_progress))

    def generate(self, records: Sequence, model_inputs: Sequence, on_progress: Callable[[float], None] | None = None
                 ) -> list[list[Candidate]]:
        """The candidates of each record, from its model input (ModelInputs.build_all's): the device step."""
        return self.candidates([i.input_ids for i in model_inputs], [r.crash_id for r in records], on_progress)

    def describe(self, seed: int) -> dict:
        """Backend, device and generation settings, for run_report.json and evaluation_results.json."""
        settings = self.settings
        return {
            "backend": self.backend_name, "backend_reason": self.backend_reason, "quantization": self.quantization,
            "device": str(self.device), "dtype": str(self.dtype).replace("torch.", ""),
            "batch_size": self.batch_size.describe(),  # 32, or "tokens:N" (a token budget)
            "generation_config": self.generation_config.to_diff_dict(),
            "num_candidates": settings.num_candidates, "num_samples": settings.num_samples,
            "sampling": ({"top_p": settings.top_p, "temperature": settings.temperature, "seed": seed}
                         if settings.num_samples else None),
            "max_length": self.inputs.max_length, "no_plan": self.inputs.no_plan,
            "plans": "graphs_file" if self.inputs.graphs is not None else "offline",
        }


def count_generated_tokens(tokenizer, summaries: Sequence["CrashSummary"]) -> int:
    """Tokens generated over every candidate (the throughput figure of run_report.json)."""
    texts = [r.candidate.text for summary in summaries for r in summary.ranked]
    if not texts:
        return 0
    return sum(len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"])


SOURCE_MODEL, SOURCE_GRAPH = "model", "graph"


@dataclass(frozen=True)
class CrashSummary:
    planned: object  # plan.policy.PlannedCrash: graph, plan lines and where the plan came from
    truncated: bool  # whether the narrative was cut to fit the model input
    ranked: list[RankedCandidate]  # every model candidate, clean ones first, best first
    chosen: RankedCandidate  # the summary written: the best clean candidate, or the graph's
    source: str = SOURCE_MODEL  # SOURCE_MODEL or SOURCE_GRAPH

    @property
    def best(self) -> RankedCandidate:
        return self.chosen


def choose_all(records: Sequence, planned: Sequence, model_inputs: Sequence, found: Sequence[Sequence[Candidate]]
               ) -> list[CrashSummary]:
    """`choose` for each record, in record order: a CPU step, no model needed."""
    return [choose(record.narrative, plan, model_input.truncated, options)
            for record, plan, model_input, options in zip(records, planned, model_inputs, found)]


def _best_clean_prefix(ranked: Sequence[RankedCandidate], narrative: str, plan_lines, facts) -> RankedCandidate | None:
    """With no candidate clean whole: the best one whose leading sentences are (infer/rerank.py clean_prefix)."""
    prefixes = [judge(prefix, narrative, plan_lines, facts) for prefix in map(clean_prefix, ranked) if prefix]
    clean = [item for item in prefixes if item.clean]
    return max(clean, key=lambda item: item.score) if clean else None


def choose(narrative: str, planned, truncated: bool, options: Sequence[Candidate]) -> CrashSummary:
    """The best clean candidate (a one-sentence one followed by the narrative's opening sentence,
    plan/realize.py with_scene); with none clean whole, the best candidate's clean leading sentences;
    with none of those, the summary realized from the crash graph."""
    facts = NarrativeFacts(narrative, planned.graph)
    ranked = rank_candidates(options, narrative, planned.plan_lines, facts=facts)
    best = ranked[0] if ranked and ranked[0].clean else _best_clean_prefix(ranked, narrative, planned.plan_lines, facts)
    if best is not None:
        scened = with_scene(best.candidate.text, narrative)
        if scened != best.candidate.text:  # the narrative's own opening sentence: re-judged, still clean
            rejudged = judge(Candidate(scened, best.candidate.score), narrative, planned.plan_lines, facts)
            best = rejudged if rejudged.clean else best
        return CrashSummary(planned, truncated, ranked, best, SOURCE_MODEL)
    return CrashSummary(planned, truncated, ranked, _realized(planned, narrative, facts), SOURCE_GRAPH)


def _realized(planned, narrative: str, facts: NarrativeFacts) -> RankedCandidate:
    """The most the graph can say that the claim checker passes (plan/realize.py realizations):
    a hedging opening sentence, a manner or a cause the checker cannot find is left out. Their words
    are the graph's phrases, the narrative's own and a fixed frame ("The narrative begins: ..."), so
    the reported checker judges them, not the model's word list: a quoted opening beats "No cause or
    collision could be read"."""
    judged = None
    for text in realizations(planned.graph, narrative):
        judged = judge(Candidate(text, None), narrative, planned.plan_lines, facts, wording=False)
        if not judged.claims:
            return judged
    return judged
