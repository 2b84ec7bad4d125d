"""The reranker's choice (infer/rerank.py): faithful to the narrative and the plan beats likely."""

from __future__ import annotations

from crashtransformer.infer.generation import Candidate
from crashtransformer.infer.rerank import HALLUCINATION_PENALTY, rank_candidates, rerank_score

NARRATIVE = ("Unit 1 was traveling north on Main Street. Unit 2 was stopped at a red light. "
             "Unit 1 failed to control speed and struck the back of Unit 2.")
PLAN = ["1) failed to control speed -> rear-end collision | actors=U1 -> U2"]


def test_the_faithful_candidate_wins_over_a_likelier_one_that_invents_specifics():
    faithful = Candidate("Unit 1 failed to control speed and struck Unit 2 from behind at the red light.", -1.9)
    invented = Candidate("Unit 3 failed to control speed on Interstate 35 at 70 mph and struck Unit 2.", -0.2)
    generic = Candidate("A crash occurred between two vehicles.", -0.1)
    ranked = rank_candidates([invented, generic, faithful], NARRATIVE, PLAN)
    assert ranked[0].candidate == faithful
    by_text = {r.candidate.text: r for r in ranked}
    assert by_text[invented.text].quality["has_hallucinated_specific"]  # Unit 3, Interstate 35, 70 mph
    assert not by_text[faithful.text].quality["has_hallucinated_specific"]
    assert by_text[faithful.text].quality["plan_coverage"] > by_text[generic.text].quality["plan_coverage"]


def test_the_model_score_only_breaks_ties():
    same = "Unit 1 failed to control speed and struck Unit 2."
    likely, unlikely = Candidate(same, -0.5), Candidate(same, -2.5)
    assert [r.candidate for r in rank_candidates([unlikely, likely], NARRATIVE, PLAN)] == [likely, unlikely]
    # a log-probability point moves the score by a hundredth: never past an invented specific
    clean = {"plan_coverage": 0.5, "faithfulness_unigram": 0.8, "has_hallucinated_specific": 0.0}
    invented = {"plan_coverage": 1.0, "faithfulness_unigram": 1.0, "has_hallucinated_specific": 1.0}
    assert rerank_score(clean, -3.0) > rerank_score(invented, 0.0)
    assert abs(rerank_score(clean, -1.0) - (rerank_score(clean, 0.0) - 0.01)) < 1e-12
    assert rerank_score(invented, None) == 1.0 - HALLUCINATION_PENALTY


def test_equal_scores_keep_generation_order():
    first, second = Candidate("Unit 1 struck Unit 2.", None), Candidate("Unit 1 struck Unit 2.", None)
    assert [r.candidate for r in rank_candidates([first, second], NARRATIVE, PLAN)] == [first, second]


# ----------------------------------------------------------------------------- rejection and the graph fallback

def test_a_candidate_with_an_unsupported_claim_or_a_hedge_is_rejected_before_ranking():
    faithful = Candidate("Unit 1 failed to control speed and struck Unit 2.", -3.0)
    hedged = Candidate("Unit 1 likely failed to control speed and struck Unit 2 from behind.", -0.1)
    invented = Candidate("Unit 1 failed to control speed due to distraction and struck Unit 2 from behind.", -0.1)
    ranked = rank_candidates([hedged, invented, faithful], NARRATIVE, PLAN)
    assert ranked[0].candidate == faithful and ranked[0].clean
    assert [r.clean for r in ranked] == [True, False, False]
    by_text = {r.candidate.text: r for r in ranked}
    assert [c.type for c in by_text[hedged.text].claims] == ["hedge"]
    assert by_text[invented.text].quality["has_unsupported_claim"] == 1.0


def test_a_candidate_that_omits_the_plans_cause_is_not_clean():
    assert not rank_candidates([Candidate("Unit 1 struck Unit 2.", None)], NARRATIVE, PLAN)[0].clean


def test_with_no_clean_candidate_the_summary_is_realized_from_the_graph():
    from crashtransformer.infer.summarizer import SOURCE_GRAPH, SOURCE_MODEL, choose
    from crashtransformer.plan.policy import PlannedCrash
    from crashtransformer.plan.graph import extract_graph

    planned = PlannedCrash(extract_graph(NARRATIVE), PLAN, "extracted")
    clean = choose(NARRATIVE, planned, False, [Candidate("Unit 1 failed to control speed and struck Unit 2.", None)])
    assert clean.source == SOURCE_MODEL and clean.best.candidate.text == (
        "Unit 1 failed to control speed and struck Unit 2. Unit 1 was traveling north on Main Street.")
    fallback = choose(NARRATIVE, planned, False, [Candidate("Unit 1 was probably drunk and struck Unit 2.", None)])
    assert fallback.source == SOURCE_GRAPH and fallback.best.clean
    assert fallback.best.candidate.text == ("Unit 1 failed to control speed, resulting in a rear-end collision with "
                                            "Unit 2. Unit 1 was traveling north on Main Street.")
    assert fallback.ranked[0].candidate.text.startswith("Unit 1 was probably")  # the candidates are still reported


def test_a_candidates_clean_leading_sentence_is_kept_when_the_rest_is_not():
    from crashtransformer.infer.rerank import clean_prefix

    judged = Candidate("Unit 1 failed to control speed and struck Unit 2. The root cause was Unit 1's inability to "
                       "exercise caution.", -0.4)
    ranked = rank_candidates([judged], NARRATIVE, PLAN)[0]
    assert not ranked.clean and [c.type for c in ranked.claims] == ["wording"]
    prefix = clean_prefix(ranked)
    assert prefix == Candidate("Unit 1 failed to control speed and struck Unit 2.", -0.4)
    assert rank_candidates([prefix], NARRATIVE, PLAN)[0].clean
    wrong_first = rank_candidates([Candidate("Unit 1 failed to properly execute a stop. Unit 1 struck Unit 2.", -0.1)],
                                  NARRATIVE, PLAN)[0]
    assert clean_prefix(wrong_first) is None  # nothing clean comes before the first claim


def test_a_graph_that_reads_nothing_quotes_the_narrative_rather_than_say_so():
    # the frame "The narrative begins:" is the tool's, not a claim: the quote is judged by the reported
    # checker, and "No cause or collision could be read" is left for a narrative with no text to quote
    from crashtransformer.infer.summarizer import SOURCE_GRAPH, choose
    from crashtransformer.plan.graph import extract_graph
    from crashtransformer.plan.policy import PlannedCrash

    narrative = "Unit 2 was traveling west in lane three. Lanes three and four were closed for an earlier accident."
    planned = PlannedCrash(extract_graph(narrative), [], "extracted")
    summary = choose(narrative, planned, False, [Candidate("Unit 1 was probably speeding.", None)])
    assert summary.source == SOURCE_GRAPH
    assert summary.best.candidate.text == 'The narrative begins: "Unit 2 was traveling west in lane three."'
