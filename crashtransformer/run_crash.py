"""One chunk of crashes through the model: graph and plan, prompt, candidates, rerank, metrics."""

from __future__ import annotations

from dataclasses import dataclass

from crashtransformer.logs import log
from crashtransformer.metrics import text_metrics_example, word_count
from crashtransformer.metrics_faithfulness import faithfulness_example
from crashtransformer.plan import extract_graph, plan_lines_from_external_graph, plan_steps_from_graph, \
    read_graphs_file
from crashtransformer.catalogue import format_plan
from crashtransformer.prompt import build_model_input, model_family

# Rerank weights: a candidate that states the plan and sticks to the narrative wins; one that
# names a unit, road or number the narrative never mentions is pushed down. The model's own
# mean log-probability only breaks ties.
HALLUCINATION_PENALTY = 0.5
MODEL_SCORE_WEIGHT = 0.01


@dataclass
class GenerationSettings:
    max_new_tokens: int
    num_beams: int
    num_candidates: int
    no_repeat_ngram_size: int
    length_penalty: float
    num_samples: int  # sampled candidates on top of the beam ones (0: none)
    top_p: float
    temperature: float

    def to_config(self, model):
        """The beam-search configuration."""
        import copy

        config = copy.deepcopy(model.generation_config)
        config.max_new_tokens = self.max_new_tokens
        config.num_beams = max(self.num_beams, self.num_candidates)
        config.no_repeat_ngram_size = self.no_repeat_ngram_size
        config.length_penalty = self.length_penalty
        config.early_stopping = True if config.num_beams > 1 else False
        config.max_length = None  # max_new_tokens rules
        return config

    def sampling_config(self, model):
        """The configuration of the sampled candidates: nucleus sampling, one sequence per draw."""
        config = self.to_config(model)
        config.num_beams, config.early_stopping, config.length_penalty = 1, False, 1.0
        config.do_sample, config.top_p, config.temperature = True, self.top_p, self.temperature
        return config


def rerank_score(candidate_metrics: dict, model_score: float | None) -> float:
    parts = [v for v in (candidate_metrics.get("plan_coverage"), candidate_metrics.get("faithfulness_unigram"))
             if v is not None]
    score = sum(parts) / len(parts) if parts else 0.0
    score -= HALLUCINATION_PENALTY * float(candidate_metrics.get("has_hallucinated_specific") or 0.0)
    return score + MODEL_SCORE_WEIGHT * (model_score or 0.0)


def make_backend(model, tokenizer, generation_config, num_candidates: int, batch_size: int):
    """(backend name, weight quantization, generator) for a torch model or a CTranslate2 export."""
    from crashtransformer.generation import TorchGenerator

    if hasattr(model, "translator"):  # a generation_ct2.CTranslate2Model
        from crashtransformer.generation_ct2 import CTranslate2Generator

        return ("ctranslate2", model.quantization,
                CTranslate2Generator(model, tokenizer, generation_config, num_return_sequences=num_candidates,
                                     batch_size=batch_size))
    return "torch", "none", TorchGenerator(model, tokenizer, generation_config, num_return_sequences=num_candidates)


def seed_sampling(seed: int, backend: str) -> None:
    """The same input and settings draw the same sampled candidates."""
    from transformers import set_seed

    set_seed(seed)
    if backend == "ctranslate2":
        import ctranslate2

        ctranslate2.set_random_seed(seed)


class CrashProcessor:
    """Holds the model, tokenizer and settings; turns crash records into artifact rows."""

    def __init__(self, model, tokenizer, model_dir: str, settings: GenerationSettings, *, batch_size: int,
                 max_length: int, no_plan: bool, graphs: dict | None, device, dtype, backend_reason: str = ""):
        self.model, self.tokenizer, self.model_dir = model, tokenizer, model_dir
        self.backend_reason = backend_reason  # why this backend (backends.choose_backend), for the report
        self.settings, self.batch_size, self.max_length, self.no_plan = settings, batch_size, max_length, no_plan
        self.graphs = graphs
        self.family = model_family(model)
        self.device, self.dtype = device, dtype
        self.generation_config = settings.to_config(model)
        self.backend_name, self.quantization, self.backend = make_backend(model, tokenizer, self.generation_config,
                                                                          settings.num_candidates, batch_size)
        self.sampler = None
        if settings.num_samples > 0:  # same batch size: sampling 8 per crash ran fastest in batches of 8 crashes
            _, _, self.sampler = make_backend(model, tokenizer, settings.sampling_config(model),
                                              settings.num_samples, batch_size)
        self.last_generated_tokens = 0

    @classmethod
    def from_config(cls, cfg, model_dir: str) -> "CrashProcessor":
        from crashtransformer.backends import choose_backend
        from crashtransformer.generation import default_batch_size, pick_device, pick_dtype
        from crashtransformer.modeling import input_limit, load_model, load_tokenizer

        device = pick_device(cfg.device)
        dtype = pick_dtype(device, cfg.dtype)
        beams = max(cfg.num_beams, cfg.num_candidates)
        choice = choose_backend(cfg, model_dir, device)
        log.info("backend %s (%s)", choice.name, choice.reason)
        if choice.name == "ctranslate2":
            from crashtransformer.generation_ct2 import default_batch_size as ct2_batch_size
            from crashtransformer.generation_ct2 import load_ctranslate2_model

            model, tokenizer = load_ctranslate2_model(choice.model_dir, device)
            dtype = model.translator.compute_type  # the export's quantization, as this device runs it
            default_batch = ct2_batch_size(device, beams)
        else:
            from crashtransformer.generation_ct2 import refuse_export_for_torch

            refuse_export_for_torch(model_dir)
            model = load_model(model_dir, "seq2seq", trust_remote_code=cfg.trust_remote_code,
                               allow_pickle=cfg.allow_pickle)
            model.to(device)
            model.generation_config.max_length = None  # --max_new_tokens rules (older trained models saved 20)
            if device.type == "cuda" and cfg.dtype != "auto":
                model.to(dtype)  # an explicit dtype converts the weights; auto uses autocast
            tokenizer = load_tokenizer(model_dir, trust_remote_code=cfg.trust_remote_code)
            default_batch = default_batch_size(device, beams)
        batch_size = cfg.batch_size or default_batch
        log.info("device %s, dtype %s, batch size %d%s", device, str(dtype).replace("torch.", ""), batch_size,
                 "" if cfg.batch_size else " (chosen for the device)")
        settings = GenerationSettings(cfg.max_new_tokens, cfg.num_beams, cfg.num_candidates,
                                      cfg.no_repeat_ngram_size, cfg.length_penalty,
                                      cfg.num_samples, cfg.top_p, cfg.temperature)
        if cfg.num_samples > 0:
            seed_sampling(cfg.seed, choice.name)
        graphs = read_graphs_file(cfg.graphs_file) if cfg.graphs_file else None
        return cls(model, tokenizer, model_dir, settings, batch_size=batch_size,
                   max_length=input_limit(model.config, cfg.max_length),
                   no_plan=cfg.no_plan, graphs=graphs, device=device, dtype=dtype, backend_reason=choice.reason)

    # ------------------------------------------------------------------ steps

    def graph_and_plan(self, record) -> tuple[dict, list[str]]:
        """Supplied graph (--graphs_file) or our offline one; the input's own plan_lines win."""
        crash = {"raw_narrative": record.narrative, **record.metadata}
        supplied = self.graphs.get(record.crash_id) if self.graphs is not None else None
        if supplied is not None:
            graph, plan = supplied, plan_lines_from_external_graph(supplied)
        else:
            graph = extract_graph(record.narrative, record.crash_id, crash)
            plan = format_plan(plan_steps_from_graph(graph))
        return graph, (record.plan_lines or plan)

    def process(self, records: list, source: str, digest: str) -> tuple[list[dict], list[dict]]:
        from crashtransformer.generation import generate_with_backend

        graphs, plans = zip(*(self.graph_and_plan(r) for r in records))
        inputs = [build_model_input(r.narrative, plan, self.tokenizer, self.family, self.max_length,
                                    self.no_plan).input_ids for r, plan in zip(records, plans)]
        candidates = generate_with_backend(self.backend, inputs, self.batch_size)
        if self.sampler is not None:
            drawn = generate_with_backend(self.sampler, inputs, self.batch_size)
            candidates = [beam + sampled for beam, sampled in zip(candidates, drawn)]
        self.last_generated_tokens = self._count_tokens(candidates)
        summaries = [self._summarize(record, plan, options, source, digest)
                     for record, plan, options in zip(records, plans, candidates)]
        return list(graphs), summaries

    def _summarize(self, record, plan: list[str], options, source: str, digest: str) -> dict:
        scored = []
        for candidate in options:
            quality = faithfulness_example(candidate.text, record.narrative, plan)
            scored.append((rerank_score(quality, candidate.score), candidate, quality))
        scored.sort(key=lambda item: item[0], reverse=True)
        _, best, best_quality = scored[0]
        metrics = {k: v for k, v in best_quality.items() if k != "hallucinated_list"}
        metrics["narrative_words"] = word_count(record.narrative)
        if record.summary:
            metrics.update(text_metrics_example(best.text, record.summary, record.narrative))
        return {
            "Crash_ID": record.crash_id,
            "plan_lines": plan,
            "candidates": [{"summary": c.text, "score": round(s, 4), "model_score": c.score}
                           for s, c, _ in scored],
            "best_summary": best.text,
            "reference_summary": record.summary,
            "metrics": metrics,
            "source_file": source,
            "source_sha256": digest,
            "row_number": record.row_number,
        }

    def _count_tokens(self, candidates) -> int:
        texts = [c.text for options in candidates for c in options]
        if not texts:
            return 0
        return sum(len(ids) for ids in self.tokenizer(texts, add_special_tokens=False)["input_ids"])
