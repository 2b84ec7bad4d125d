"""The reranker: which candidate summary a crash gets, or none of them.

A candidate is *clean* when the claim-support checker (metrics/claims.py) finds nothing in it the
narrative does not support (no invented cause, unit, place or blame; no hedge; no word the narrative
never uses beyond a plain summary's vocabulary, metrics/wording.py) and it states the plan's cause
when the plan has one. Unclean candidates are rejected before ranking; among the clean
ones, the one that states the plan and sticks to the narrative wins, and the model's own mean
log-probability only breaks ties. When none is clean, infer/summarizer.py writes the summary
realized from the crash graph instead (plan/realize.py), unless a candidate's leading sentences are
clean on their own (`clean_prefix`). `run` and `evaluate --model` both choose through `rank_candidates`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from crashtransformer.infer.generation import Candidate
from crashtransformer.metrics.claim_facts import Claim, NarrativeFacts
from crashtransformer.metrics.claims import check_claims, claim_figures
from crashtransformer.metrics.faithfulness import faithfulness_example
from crashtransformer.metrics.sentences import sentence_spans

HALLUCINATION_PENALTY = 0.5  # one invented specific costs more than any coverage gain can buy back
MODEL_SCORE_WEIGHT = 0.01  # mean log-probabilities are about -0.1 .. -3: a tie-breaker only


@dataclass(frozen=True)
class RankedCandidate:
    score: float  # the rerank score (higher is better)
    candidate: Candidate
    quality: dict  # faithfulness_example's and claim_figures' figures for this candidate
    claims: list[Claim] = field(default_factory=list)  # what the narrative does not support

    @property
    def clean(self) -> bool:
        """Nothing unsupported, and the plan's cause stated when the plan names one."""
        return not self.claims and self.quality.get("plan_factor_coverage") in (None, 1.0)


def rerank_score(quality: dict, model_score: float | None) -> float:
    parts = [v for v in (quality.get("plan_coverage"), quality.get("faithfulness_unigram")) if v is not None]
    score = sum(parts) / len(parts) if parts else 0.0
    score -= HALLUCINATION_PENALTY * float(quality.get("has_hallucinated_specific") or 0.0)
    return score + MODEL_SCORE_WEIGHT * (model_score or 0.0)


def judge(candidate: Candidate, narrative: str, plan_lines: Sequence[str], facts: NarrativeFacts,
          wording: bool = True) -> RankedCandidate:
    """One candidate's figures, unsupported claims and rerank score; `wording`: a model's words the
    narrative never uses count as unsupported too (selection is stricter than the report)."""
    quality = faithfulness_example(candidate.text, narrative, list(plan_lines))
    claims = check_claims(candidate.text, facts=facts, wording=wording)
    quality.update({k: v for k, v in claim_figures(claims).items() if k != "unsupported_list"})
    return RankedCandidate(rerank_score(quality, candidate.score), candidate, quality, claims)


def clean_prefix(ranked: RankedCandidate) -> Candidate | None:
    """The candidate's sentences before the first one holding an unsupported claim ("Unit 1 failed to
    control its speed, resulting in a collision with Unit 2." of a candidate that goes on "The root
    cause was Unit 1's inability to ..."); None when the first sentence holds one or nothing is cut."""
    text = ranked.candidate.text
    first_claim = min((claim.start for claim in ranked.claims), default=None)
    if first_claim is None:
        return None
    ends = [end for start, end in sentence_spans(text) if end <= first_claim]
    return Candidate(text[:ends[-1]], ranked.candidate.score) if ends else None


def rank_candidates(candidates: Sequence[Candidate], narrative: str, plan_lines: Sequence[str],
                    graph: dict | None = None, facts: NarrativeFacts | None = None) -> list[RankedCandidate]:
    """The candidates, clean ones first, each group best first; ties keep generation order."""
    facts = facts or NarrativeFacts(narrative, graph)
    ranked = [judge(candidate, narrative, plan_lines, facts) for candidate in candidates]
    ranked.sort(key=lambda item: (item.clean, item.score), reverse=True)
    return ranked
