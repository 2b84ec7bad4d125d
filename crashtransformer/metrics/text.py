"""Text-overlap metrics (ROUGE, BLEU) and length analysis, per example and aggregated.

Every number comes from the library that defines it: ROUGE from ``rouge-score``, BLEU from
``sacrebleu``; the settings used are returned by ``text_metric_settings`` and recorded beside
the numbers. ``evaluate.load(...)`` is never used: it fetches metric scripts from a hub and
fails offline. The whole suite (these plus BERTScore, similarity and the plan/source-aware
metrics) is driven by ``crashtransformer.metrics.suite.score_pairs``.

Scales: every score here is on 0..1 (sacrebleu's 0..100 BLEU is divided by 100), so
``bleu_4`` = 0.144 reads like the published "BLEU 0.144".
"""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import version

import numpy as np
from nltk.stem import porter
from rouge_score import rouge_scorer, tokenize, tokenizers
from sacrebleu.metrics import BLEU

# The nine ROUGE figures the seed promises (rouge1/2/L x P/R/F1) plus rougeLsum.
ROUGE_TYPES = ("rouge1", "rouge2", "rougeL", "rougeLsum")
ROUGE_PARTS = (("precision", "precision"), ("recall", "recall"), ("fmeasure", "f1"))
# Stemming on: the convention of the original ROUGE-1.5.5 script and of most papers.
ROUGE_USE_STEMMER = True
# sacrebleu defaults (13a tokenizer, case-sensitive, exponential smoothing for corpus BLEU);
# sentence BLEU uses effective order, as sacrebleu recommends for single sentences.
BLEU_TOKENIZER = "13a"
BLEU_MAX_ORDER = 4


def _check_same_length(predictions: list[str], references: list[str]) -> None:
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")


# ----------------------------------------------------------------------------- ROUGE


class CachedPorterStemmer:
    """nltk's PorterStemmer (the one rouge-score uses) with a memo: stemming was 60% of ROUGE's
    time, and crash reports repeat the same few thousand words."""

    def __init__(self, cache_size: int = 200_000):
        self.stem = lru_cache(maxsize=cache_size)(porter.PorterStemmer().stem)


STEMMER = CachedPorterStemmer()


class _RougeTokenizer(tokenizers.Tokenizer):
    """rouge-score's own tokenize() (lowercase, [a-z0-9] tokens, stem words over 3 letters),
    given the memoised stemmer: the tokens, hence the scores, are identical to use_stemmer=True."""

    def tokenize(self, text):
        return tokenize.tokenize(text, STEMMER if ROUGE_USE_STEMMER else None)


@lru_cache(maxsize=1)
def _rouge_scorer() -> rouge_scorer.RougeScorer:
    # split_summaries=False: rougeLsum splits sentences on newlines only, as rouge-score
    # documents; put one sentence per line to get summary-level LCS over sentences.
    return rouge_scorer.RougeScorer(list(ROUGE_TYPES), split_summaries=False, tokenizer=_RougeTokenizer())


def rouge_example(prediction: str, reference: str) -> dict[str, float]:
    """ROUGE P/R/F1 of one prediction against one reference, keys like ``rouge1_f1``."""
    scores = _rouge_scorer().score(reference or "", prediction or "")
    return {f"{kind}_{short}": float(getattr(scores[kind], field))
            for kind in ROUGE_TYPES for field, short in ROUGE_PARTS}


def rouge_per_example(predictions: list[str], references: list[str]) -> list[dict[str, float]]:
    """One ROUGE dict per (prediction, reference) pair."""
    _check_same_length(predictions, references)
    return [rouge_example(p, r) for p, r in zip(predictions, references)]


def rouge_scores(predictions: list[str], references: list[str]) -> dict[str, float]:
    """Mean ROUGE over pairs: ``rouge1_precision/_recall/_f1``, ``rouge2_*``, ``rougeL_*``,
    ``rougeLsum_*``. Stemming on; rougeLsum splits sentences on newlines. No pairs: ``{}``."""
    rows = rouge_per_example(predictions, references)
    if not rows:
        return {}
    return {key: sum(row[key] for row in rows) / len(rows) for key in rows[0]}


# ----------------------------------------------------------------------------- BLEU
# Per example we keep sacrebleu's sufficient statistics (hypothesis and reference length,
# matched and total n-grams for n = 1..4). Summing them and calling BLEU.compute_bleu gives
# exactly sacrebleu's corpus BLEU, cheaply enough to bootstrap.

BLEU_STAT_KEYS = ("sys_len", "ref_len", *(f"correct_{n}" for n in range(1, 5)), *(f"total_{n}" for n in range(1, 5)))


@lru_cache(maxsize=1)
def _sentence_bleu() -> BLEU:
    return BLEU(tokenize=BLEU_TOKENIZER, effective_order=True)


def release_bleu_cache() -> None:
    """Empty sacrebleu's tokenizer memo: it keeps up to 65,536 sentences (about 50 MB when full)
    and `run` never sees a crash's sentences twice, so it clears it after every chunk to keep a
    long run's memory flat."""
    type(_sentence_bleu().tokenizer).__call__.cache_clear()


def bleu_example(prediction: str, reference: str) -> dict[str, float]:
    """Sentence BLEU (0..1, effective order) plus the statistics corpus BLEU is built from."""
    score = _sentence_bleu().sentence_score(prediction or "", [reference or ""])
    row = {"sentence_bleu": score.score / 100.0}
    stats = (score.sys_len, score.ref_len, *score.counts, *score.totals)
    row.update({f"_bleu_{key}": float(value) for key, value in zip(BLEU_STAT_KEYS, stats)})
    return row


def corpus_bleu_from_stats(stats: np.ndarray) -> dict[str, float]:
    """Corpus BLEU-1..4 (cumulative) and the four n-gram precisions from summed statistics.

    ``stats`` is the column sum of the ``_bleu_*`` values, in ``BLEU_STAT_KEYS`` order.
    BLEU-n is sacrebleu's BLEU with ``max_ngram_order=n``: brevity penalty times the geometric
    mean of the 1..n-gram precisions (cumulative, uniform weights), exponential smoothing.
    """
    sys_len, ref_len = int(stats[0]), int(stats[1])
    correct = [int(x) for x in stats[2:6]]
    total = [int(x) for x in stats[6:10]]
    result = {}
    for order in range(1, BLEU_MAX_ORDER + 1):
        score = BLEU.compute_bleu(correct[:order], total[:order], sys_len, ref_len,
                                  smooth_method="exp", max_ngram_order=order)
        result[f"bleu_{order}"] = score.score / 100.0
    for order in range(1, BLEU_MAX_ORDER + 1):
        result[f"bleu_precision_{order}"] = correct[order - 1] / total[order - 1] if total[order - 1] else 0.0
    result["bleu_brevity_penalty"] = BLEU.compute_bleu(correct, total, sys_len, ref_len, smooth_method="exp").bp
    result["bleu"] = result["bleu_4"]
    return result


def bleu_scores(predictions: list[str], references: list[str]) -> dict[str, float]:
    """Corpus BLEU-1..4, n-gram precisions and mean sentence BLEU, all on 0..1."""
    _check_same_length(predictions, references)
    rows = [bleu_example(p, r) for p, r in zip(predictions, references)]
    if not rows:
        return {}
    stats = np.array([[row[f"_bleu_{key}"] for key in BLEU_STAT_KEYS] for row in rows]).sum(axis=0)
    result = corpus_bleu_from_stats(stats)
    result["sentence_bleu"] = float(np.mean([row["sentence_bleu"] for row in rows]))
    return result


# ----------------------------------------------------------------------------- length


def word_count(text: str | None) -> int:
    return len((text or "").split())


def length_example(prediction: str, reference: str, narrative: str | None = None) -> dict[str, float | None]:
    """Words in prediction and reference, their ratio, and compression against the narrative."""
    pred_words, ref_words = word_count(prediction), word_count(reference)
    row: dict[str, float | None] = {
        "pred_words": float(pred_words),
        "ref_words": float(ref_words),
        "length_ratio": pred_words / ref_words if ref_words else None,  # undefined for empty refs
    }
    if narrative is not None:
        narrative_words = word_count(narrative)
        row["narrative_words"] = float(narrative_words)
        row["compression"] = pred_words / narrative_words if narrative_words else None
        row["ref_compression"] = ref_words / narrative_words if narrative_words else None
    return row


# ----------------------------------------------------------------------------- per example


def text_metrics_example(prediction: str, reference: str, narrative: str | None = None) -> dict[str, float | None]:
    """ROUGE, sentence BLEU (+ corpus statistics) and length for one pair."""
    row: dict[str, float | None] = {}
    row.update(rouge_example(prediction, reference))
    row.update(bleu_example(prediction, reference))
    row.update(length_example(prediction, reference, narrative))
    return row


def _bleu_signature(bleu: BLEU) -> str:
    # sacrebleu only knows the reference count, part of its signature, after one scoring call.
    bleu.corpus_score(["a"], [["a"]])
    return bleu.get_signature().format()


def text_metric_settings() -> dict[str, object]:
    """How the numbers above were computed, recorded beside them."""
    return {
        "rouge": {"library": f"rouge-score {version('rouge-score')}", "use_stemmer": ROUGE_USE_STEMMER,
                  "tokenizer": "rouge-score default (lowercase, [a-z0-9] tokens; other characters dropped)",
                  "rougeLsum_sentence_split": "newline", "aggregate": "mean of per-example scores"},
        "bleu": {"library": f"sacrebleu {version('sacrebleu')}",
                 "corpus_signature": _bleu_signature(BLEU(tokenize=BLEU_TOKENIZER)),
                 "sentence_signature": _bleu_signature(BLEU(tokenize=BLEU_TOKENIZER, effective_order=True)),
                 "bleu_n": "corpus BLEU with max_ngram_order=n (cumulative 1..n-gram precisions, "
                           "uniform weights, brevity penalty); bleu = bleu_4",
                 "scale": "0..1 (sacrebleu score / 100)"},
        "length": {"unit": "whitespace-separated words",
                   "compression": "prediction words / narrative words"},
    }


def distinct_share(texts: list[str]) -> float:
    """Share of texts that no other text repeats (case and outer spaces ignored); 0 for none."""
    from collections import Counter

    counts = Counter(t.strip().lower() for t in texts)
    return sum(counts[t.strip().lower()] == 1 for t in texts) / len(texts) if texts else 0.0
