"""A learned guess at the manner for the narratives no rule decides (plan/collisions.py).

A linear classifier over hashed word n-grams (scikit-learn's HashingVectorizer: no vocabulary to
ship) trained by `python bench/bench_texas.py fit_fallback` on text the rules read with
confidence: the CISS development half where the rules agree with the investigators' MANCOLL code,
and unlabelled Texas CRIS narratives where a rule of measured precision >= FIT_MIN_PRECISION
fired. None of our Texas labels is used to fit it. Its weights are `manner_fallback.npz` beside
this module (numpy arrays, no pickle); its guesses carry the measured precision of their
probability bin (plan/confidence.py), and a guess below MIN_PROBABILITY is not made.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from crashtransformer.plan import patterns as pp

MODEL = Path(__file__).with_name("manner_fallback.npz")
N_FEATURES = 2 ** 15  # hashed uni+bigrams; 32k buckets x 13 manners stays under 1 MB as float16
MIN_PROBABILITY = 0.5  # below this the classifier is closer to a coin than to a reading: no guess
FIT_MIN_PRECISION = 0.85  # only rule outputs at least this precise become training labels
PROBABILITY_BINS = (0.5, 0.7, 0.9)  # confidence is measured per bin: learned:0.5, learned:0.7, learned:0.9
_NUMBERED = re.compile(r"\d+")


def features_text(narrative: str) -> str:
    """The narrative as the classifier reads it: units named alike ("unit"), numbers dropped,
    so CISS's "V1" and Texas's "unit #1" look the same."""
    norm = pp.UNIT.sub(" unit ", pp.normalize(narrative))
    return _NUMBERED.sub(" ", norm)


@lru_cache(maxsize=1)
def _vectorizer():
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(n_features=N_FEATURES, ngram_range=(1, 2), alternate_sign=False, norm="l2")


@lru_cache(maxsize=1)
def _weights() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]] | None:
    if not MODEL.is_file():
        return None
    with np.load(MODEL, allow_pickle=False) as arrays:
        return (arrays["coef"].astype(np.float32), arrays["intercept"].astype(np.float32),
                tuple(str(c) for c in arrays["classes"]))


def available() -> bool:
    return _weights() is not None


def guess(narrative: str, ruled_out: frozenset[str] = frozenset()) -> tuple[str, float] | None:
    """(manner, probability) when the classifier is at least MIN_PROBABILITY sure, else None; manners
    the text rules out (a fixed object when one unit struck another) share no probability."""
    weights = _weights()
    if weights is None:
        return None
    coef, intercept, classes = weights
    row = _vectorizer().transform([features_text(narrative)])
    scores = coef[:, row.indices] @ row.data + intercept  # ~100 of 32k buckets are set: index, don't multiply
    scores[[i for i, manner in enumerate(classes) if manner in ruled_out]] = -np.inf
    probabilities = np.exp(scores - scores.max())
    probabilities /= probabilities.sum()
    best = int(probabilities.argmax())
    if probabilities[best] < MIN_PROBABILITY:
        return None
    return classes[best], float(probabilities[best])


def probability_bin(probability: float) -> str:
    """The calibration bin a guess falls in: "learned:0.7" covers [0.7, 0.9)."""
    low = max(b for b in PROBABILITY_BINS if probability >= b)
    return f"learned:{low}"


def fit(narratives: list[str], manners: list[str], path: Path = MODEL, seed: int = 0) -> Path:
    """Fit the classifier and write its weights (float16) to `path`."""
    from sklearn.linear_model import LogisticRegression

    features = _vectorizer().transform([features_text(text) for text in narratives])
    model = LogisticRegression(C=4.0, max_iter=2000, random_state=seed)  # C: weak regularisation, many rows
    model.fit(features, manners)
    np.savez_compressed(path, coef=model.coef_.astype(np.float16), intercept=model.intercept_.astype(np.float32),
                        classes=np.array(model.classes_, dtype=str))
    _weights.cache_clear()
    return path
