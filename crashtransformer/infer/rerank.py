"""The reranker: which candidate summary a crash gets.

A candidate that states the plan and sticks to the narrative wins; one that names a unit, road
or number the narrative never mentions is pushed down. The model's own mean log-probability only
breaks ties. `run` and `evaluate --model` both choose through `rank_candidates`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from crashtransformer.infer.generation import Candidate
from crashtransformer.metrics.faithfulness import faithfulness_example

HALLUCINATION_PENALTY = 0.5  # one invented specific costs more than any coverage gain can buy back
MODEL_SCORE_WEIGHT = 0.01  # mean log-probabilities are about -0.1 .. -3: a tie-breaker only


@dataclass(frozen=True)
class RankedCandidate:
    score: float  # the rerank score (higher is better)
    candidate: Candidate
    quality: dict  # faithfulness_example's figures for this candidate


def rerank_score(quality: dict, model_score: float | None) -> float:
    parts = [v for v in (quality.get("plan_coverage"), quality.get("faithfulness_unigram")) if v is not None]
    score = sum(parts) / len(parts) if parts else 0.0
    score -= HALLUCINATION_PENALTY * float(quality.get("has_hallucinated_specific") or 0.0)
    return score + MODEL_SCORE_WEIGHT * (model_score or 0.0)


def rank_candidates(candidates: Sequence[Candidate], narrative: str, plan_lines: Sequence[str]) -> list[RankedCandidate]:
    """The candidates, best first; ties keep generation order (beam candidates before sampled)."""
    ranked = []
    for candidate in candidates:
        quality = faithfulness_example(candidate.text, narrative, list(plan_lines))
        ranked.append(RankedCandidate(rerank_score(quality, candidate.score), candidate, quality))
    ranked.sort(key=lambda item: item.score, reverse=True)
    return ranked
