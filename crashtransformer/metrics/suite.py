"""The whole metric suite over (prediction, reference[, narrative, plan]) pairs.

`score_pairs` returns per-example rows, a flat dict of aggregates with stable keys
(`rouge1_f1`, `bleu_4`, `bertscore_f1`, `similarity_mean`, ..., and with narratives the claim
checker's `unsupported_claim_rate` and `speculation_rate`, metrics/claims.py), seeded bootstrap 95%
confidence intervals for every aggregate, the metrics that were skipped and why, and the
settings (library versions, stemming, tokenizer, BERTScore model and layer) behind the numbers.
Used by `evaluate` and by `run`.
"""

from __future__ import annotations

import dataclasses
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from crashtransformer.core.settings import MetricSettings
from crashtransformer.core.logs import log
from crashtransformer.core.runtime import device_name
from crashtransformer.metrics.text import BLEU_STAT_KEYS, ROUGE_PARTS, ROUGE_TYPES, corpus_bleu_from_stats, \
    text_metric_settings, text_metrics_example
from crashtransformer.metrics.claim_facts import NarrativeFacts
from crashtransformer.metrics.claims import CLAIM_SETTINGS, check_claims, claim_figures
from crashtransformer.metrics.faithfulness import FAITHFULNESS_SETTINGS, faithfulness_example

# Below this many pairs a second process costs more to start than it saves.
MIN_PAIRS_PER_WORKER = 2000


@dataclass
class MetricReport:
    aggregates: dict[str, float | None]
    confidence_intervals: dict[str, list[float] | None]
    per_example: list[dict[str, object]]
    skipped: dict[str, str] = field(default_factory=dict)  # metric group -> reason
    settings: dict[str, object] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # examples behind each aggregate

    def to_dict(self) -> dict[str, object]:
        return {"aggregates": self.aggregates, "confidence_intervals": self.confidence_intervals,
                "counts": self.counts, "skipped": self.skipped, "settings": self.settings}


# ----------------------------------------------------------------------------- aggregate keys
# (aggregate key, per-example column, statistic). Keys never change once published.

_MEAN = "mean"
_STD = "std"
_CORPUS_BLEU = "corpus_bleu"

AGGREGATES: tuple[tuple[str, str, str], ...] = (
    *((f"{kind}_{short}", f"{kind}_{short}", _MEAN) for kind in ROUGE_TYPES for _, short in ROUGE_PARTS),
    *((key, "", _CORPUS_BLEU) for key in ("bleu", "bleu_1", "bleu_2", "bleu_3", "bleu_4", "bleu_precision_1",
                                          "bleu_precision_2", "bleu_precision_3", "bleu_precision_4",
                                          "bleu_brevity_penalty")),
    ("sentence_bleu", "sentence_bleu", _MEAN),
    ("bertscore_precision", "bertscore_precision", _MEAN),
    ("bertscore_recall", "bertscore_recall", _MEAN),
    ("bertscore_f1", "bertscore_f1", _MEAN),
    ("similarity_mean", "similarity", _MEAN),
    ("similarity_std", "similarity", _STD),
    ("pred_words_mean", "pred_words", _MEAN),
    ("ref_words_mean", "ref_words", _MEAN),
    ("length_ratio_mean", "length_ratio", _MEAN),
    ("length_ratio_std", "length_ratio", _STD),
    ("compression_mean", "compression", _MEAN),
    ("compression_std", "compression", _STD),
    ("ref_compression_mean", "ref_compression", _MEAN),
    ("plan_coverage", "plan_coverage", _MEAN),
    ("plan_factor_coverage", "plan_factor_coverage", _MEAN),
    ("plan_collision_coverage", "plan_collision_coverage", _MEAN),
    ("faithfulness_unigram", "faithfulness_unigram", _MEAN),
    ("faithfulness_bigram", "faithfulness_bigram", _MEAN),
    ("hallucinated_specifics_mean", "hallucinated_specifics", _MEAN),
    ("hallucination_rate", "has_hallucinated_specific", _MEAN),
    ("unsupported_claims_mean", "unsupported_claims", _MEAN),  # hedges apart
    ("unsupported_claim_rate", "has_unsupported_claim", _MEAN),
    ("speculation_rate", "has_speculation", _MEAN),
)
AGGREGATE_KEYS = tuple(key for key, _, _ in AGGREGATES)


def _column(rows: list[dict], name: str) -> np.ndarray:
    """A per-example column as floats; missing or None values become NaN (left out of means)."""
    values = [row.get(name) for row in rows]
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)


def _statistic(values: np.ndarray, statistic: str, axis: int | None = None):
    """Mean or std of the defined values; NaN when none are defined."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices are expected
        return np.nanmean(values, axis=axis) if statistic == _MEAN else np.nanstd(values, axis=axis)


class RunningAggregate:
    """The aggregates of examples seen one at a time, in memory that does not grow with their
    number (a 100k-crash run directory is summed as it is read): per column the count, sum and
    sum of squares of the defined values, and the summed BLEU statistics."""

    def __init__(self) -> None:
        self.examples = 0
        self.bleu_stats = [0.0] * len(BLEU_STAT_KEYS)
        # plain floats, not numpy: a run report sums 100k rows of ~30 columns this way
        self.moments = {column: [0, 0.0, 0.0] for _, column, statistic in AGGREGATES if statistic != _CORPUS_BLEU}

    def add(self, row: dict) -> None:
        self.examples += 1
        for index, key in enumerate(BLEU_STAT_KEYS):
            self.bleu_stats[index] += row[f"_bleu_{key}"]
        for column, moments in self.moments.items():
            value = row.get(column)
            if value is not None and (value := float(value)) == value:  # NaN != NaN: left out
                moments[0] += 1
                moments[1] += value
                moments[2] += value * value

    def result(self) -> tuple[dict[str, float | None], dict[str, int]]:
        """The flat aggregate dict (None where no example defines a metric) and the counts behind it."""
        aggregates: dict[str, float | None] = {}
        counts: dict[str, int] = {}
        bleu = corpus_bleu_from_stats(np.array(self.bleu_stats)) if self.examples else {}
        for key, column, statistic in AGGREGATES:
            if statistic == _CORPUS_BLEU:
                aggregates[key], counts[key] = bleu.get(key), self.examples
                continue
            defined, total, squares = self.moments[column]
            counts[key] = int(defined)
            mean = total / defined if defined else None
            # population std (numpy's default, ddof=0); max() absorbs rounding below zero
            aggregates[key] = mean if statistic == _MEAN or mean is None else max(squares / defined - mean * mean, 0.0) ** 0.5
        return aggregates, counts


def aggregate(rows) -> tuple[dict[str, float | None], dict[str, int]]:
    """The flat aggregate dict (None where no example defines a metric) and the counts behind it."""
    running = RunningAggregate()
    for row in rows:
        running.add(row)
    return running.result()


def _bleu_stats(rows: list[dict]) -> np.ndarray:
    return np.array([[row[f"_bleu_{key}"] for key in BLEU_STAT_KEYS] for row in rows], dtype=float)


def bootstrap_intervals(rows: list[dict], samples: int = 1000, confidence: float = 0.95,
                        seed: int = 42, block: int = 100) -> dict[str, list[float] | None]:
    """Percentile bootstrap intervals for every aggregate, from the same seeded resamples.

    Every metric sees the same resampled example sets, so intervals of two metrics, or of two
    runs scored with the same seed and order, are paired. Corpus BLEU is recomputed from the
    resampled sufficient statistics, exactly as sacrebleu would on the resampled corpus.
    """
    if samples <= 0 or not rows:
        return {key: None for key in AGGREGATE_KEYS}
    rng = np.random.default_rng(seed)
    n = len(rows)
    columns = {column: _column(rows, column) for _, column, statistic in AGGREGATES if statistic != _CORPUS_BLEU}
    bleu_stats = _bleu_stats(rows)
    draws: dict[str, list[np.ndarray]] = {key: [] for key in AGGREGATE_KEYS}
    for start in range(0, samples, block):  # blocks bound memory at block x n indices
        index = rng.integers(0, n, size=(min(block, samples - start), n))
        for key, column, statistic in AGGREGATES:
            if statistic != _CORPUS_BLEU:
                draws[key].append(np.asarray(_statistic(columns[column][index], statistic, axis=1)))
        resampled_bleu = [corpus_bleu_from_stats(stats) for stats in bleu_stats[index].sum(axis=1)]
        for key, _, statistic in AGGREGATES:
            if statistic == _CORPUS_BLEU:
                draws[key].append(np.array([b[key] for b in resampled_bleu]))
    tail = (1 - confidence) / 2 * 100
    intervals: dict[str, list[float] | None] = {}
    for key, parts in draws.items():
        values = np.concatenate(parts)
        values = values[~np.isnan(values)]
        intervals[key] = ([float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))]
                          if values.size else None)
    return intervals


# ----------------------------------------------------------------------------- per example


def claim_example(prediction: str, facts: NarrativeFacts) -> dict[str, object]:
    """The claim checker's figures of one summary: unsupported_claims (a count, hedges apart),
    has_unsupported_claim, has_speculation, and unsupported_list (text, never aggregated)."""
    return claim_figures(check_claims(prediction, facts=facts))


def _text_rows(chunk: tuple[list[str], list[str], list[str | None] | None, list[list[str]] | None]) -> list[dict]:
    predictions, references, narratives, plans = chunk
    rows = []
    facts: tuple[str, NarrativeFacts] | None = None  # one per narrative (repeats come in a row)
    for i, (prediction, reference) in enumerate(zip(predictions, references)):
        narrative = narratives[i] if narratives is not None else None
        plan = plans[i] if plans is not None else None
        row = text_metrics_example(prediction, reference, narrative)
        row.update(faithfulness_example(prediction, narrative, plan))
        if narrative is not None:
            if facts is None or facts[0] != narrative:
                facts = (narrative, NarrativeFacts(narrative))
            row.update(claim_example(prediction, facts[1]))
        rows.append(row)
    return rows


def text_rows(predictions: Sequence[str], references: Sequence[str], narratives=None, plans=None,
              workers: int = 1) -> list[dict]:
    """Per-example text metrics, in one process or split over `workers` processes."""
    predictions, references = list(predictions), list(references)
    narratives = list(narratives) if narratives is not None else None
    plans = list(plans) if plans is not None else None
    workers = max(1, min(workers, len(predictions) // MIN_PAIRS_PER_WORKER, os.cpu_count() or 1))
    if workers == 1:
        return _text_rows((predictions, references, narratives, plans))
    size = -(-len(predictions) // workers)
    chunks = [(predictions[s:s + size], references[s:s + size],
               narratives[s:s + size] if narratives is not None else None,
               plans[s:s + size] if plans is not None else None) for s in range(0, len(predictions), size)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return [row for rows in pool.map(_text_rows, chunks) for row in rows]


def _model_metric(name: str, compute, rows: list[dict], report: MetricReport) -> None:
    """Add a model-based metric's columns to the rows, or record why it was skipped."""
    from crashtransformer.metrics.semantic import MetricSkipped

    try:
        columns, settings = compute()
    except MetricSkipped as exc:
        log.warning("%s skipped: %s", name, exc)
        report.skipped[name] = str(exc)
        return
    for column, values in columns.items():
        for row, value in zip(rows, values):
            row[column] = value
    report.settings[name] = settings


def score_pairs(predictions: Sequence[str], references: Sequence[str], narratives: Sequence[str | None] | None = None,
                plans: Sequence[list[str]] | None = None, options: MetricSettings | None = None,
                device: str = "auto", seed: int = 42) -> MetricReport:
    """Score every pair; narratives enable faithfulness/compression, plans enable plan coverage.

    device: where the BERTScore and similarity encoders run; seed: of the bootstrap resamples."""
    from crashtransformer.metrics.semantic import bertscore, semantic_similarity

    options = options or MetricSettings()
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    predictions = [p if isinstance(p, str) else "" for p in predictions]
    references = [r if isinstance(r, str) else "" for r in references]
    log.info("scoring %d pairs: ROUGE, BLEU, length%s%s", len(predictions),
             ", faithfulness, claims" if narratives is not None else "", ", plan coverage" if plans is not None else "")
    rows = text_rows(predictions, references, narratives, plans, options.workers)
    report = MetricReport({}, {}, rows, settings={**text_metric_settings(), "faithfulness": FAITHFULNESS_SETTINGS,
                                                  "claims": CLAIM_SETTINGS})
    if narratives is None:
        report.skipped["faithfulness"] = ("no narratives given (faithfulness, hallucinated specifics, compression, "
                                          "unsupported claims, speculation)")
    if plans is None:
        report.skipped["plan_coverage"] = "no plan lines given"
    if not options.bertscore:
        report.skipped["bertscore"] = "turned off (--no_bertscore)"
    elif predictions:
        _model_metric("bertscore", lambda: bertscore(predictions, references, options.bertscore_model,
                                                     options.bertscore_num_layers, options.metric_batch_size,
                                                     device_name(device)), rows, report)
    if not options.similarity:
        report.skipped["similarity"] = "turned off (--no_similarity)"
    elif predictions:
        _model_metric("similarity", lambda: semantic_similarity(predictions, references, options.similarity_model,
                                                                options.metric_batch_size, device_name(device)),
                      rows, report)
    report.aggregates, report.counts = aggregate(rows)
    report.confidence_intervals = bootstrap_intervals(rows, options.bootstrap_samples, options.confidence, seed)
    report.settings["bootstrap"] = {"samples": options.bootstrap_samples, "confidence": options.confidence,
                                    "seed": seed, "method": "percentile, paired resamples"}
    report.settings["options"] = dataclasses.asdict(options) | {"device": device, "seed": seed}
    for row in rows:  # corpus BLEU statistics were only needed for the aggregates
        for key in BLEU_STAT_KEYS:
            row.pop(f"_bleu_{key}", None)
    return report
