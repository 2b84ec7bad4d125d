"""Metric values checked against hand-worked cases and against the defining libraries."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sacrebleu
from rouge_score import rouge_scorer
from sacrebleu.metrics import BLEU

from conftest import shared_file
from crashtransformer.metrics.text import bleu_scores, distinct_share, length_example, rouge_example, rouge_scores
from crashtransformer.metrics.faithfulness import faithfulness, hallucinated_specifics, plan_coverage
from crashtransformer.core.config import MetricSettings
from crashtransformer.metrics.suite import AGGREGATE_KEYS, aggregate, bootstrap_intervals, \
    score_pairs, text_rows

PAIRS = [
    ("unit 1 failed to control speed and struck unit 2", "Unit 1 failed to control its speed and rear-ended Unit 2."),
    ("the driver ran the red light", "Unit 2 disregarded the traffic signal and struck Unit 1 in the intersection."),
    ("unit 1 backed into unit 2 in a parking lot", "Unit 1 backed without safety and struck the parked Unit 2."),
    ("", "Unit 1 changed lanes unsafely."),
    ("line one.\nline two about unit 3", "line two about unit 3.\nline one."),
]
NO_MODELS = MetricSettings(bertscore=False, similarity=False, bootstrap_samples=0)


# ----------------------------------------------------------------------------- ROUGE


def test_identical_texts_score_one_on_every_rouge_figure():
    scores = rouge_scores(["unit 1 struck unit 2 from behind"], ["unit 1 struck unit 2 from behind"])
    assert set(scores) == {f"{k}_{p}" for k in ("rouge1", "rouge2", "rougeL", "rougeLsum")
                           for p in ("precision", "recall", "f1")}
    assert all(value == pytest.approx(1.0) for value in scores.values())


def test_rouge_hand_worked_case():
    # prediction 3 words, all in the 6-word reference: P=1, R=1/2; bigrams 2 of 5 in the reference.
    row = rouge_example("the cat sat", "the cat sat on the mat")
    assert row["rouge1_precision"] == pytest.approx(1.0)
    assert row["rouge1_recall"] == pytest.approx(0.5)
    assert row["rouge1_f1"] == pytest.approx(2 / 3)
    assert row["rouge2_recall"] == pytest.approx(2 / 5)
    assert row["rougeL_recall"] == pytest.approx(0.5)


def test_rouge_stems_and_splits_rougelsum_on_newlines():
    assert rouge_example("running cars", "run car")["rouge1_f1"] == pytest.approx(1.0)
    row = rouge_example("c d\na b", "a b\nc d")
    assert row["rougeL_f1"] == pytest.approx(0.5)  # one LCS over the whole text
    assert row["rougeLsum_f1"] == pytest.approx(1.0)  # sentence by sentence


def test_rouge_agrees_with_rouge_score_called_directly():
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=True)
    ours = rouge_scores([p for p, _ in PAIRS], [r for _, r in PAIRS])
    for kind in ("rouge1", "rouge2", "rougeL", "rougeLsum"):
        direct = [scorer.score(r, p)[kind] for p, r in PAIRS]
        assert ours[f"{kind}_f1"] == pytest.approx(sum(s.fmeasure for s in direct) / len(direct))
        assert ours[f"{kind}_precision"] == pytest.approx(sum(s.precision for s in direct) / len(direct))


def test_rouge_agrees_with_rouge_score_on_real_narratives():
    import csv

    with shared_file("cris_narratives_llm_summaries.csv").open(encoding="utf-8") as handle:
        rows = [row for _, row in zip(range(40), csv.DictReader(handle))]
    predictions = [row["Narrative"].split(".")[0] for row in rows]
    references = [row["summary"] for row in rows]
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    direct = sum(scorer.score(r, p)["rougeL"].fmeasure for p, r in zip(predictions, references)) / len(rows)
    assert rouge_scores(predictions, references)["rougeL_f1"] == pytest.approx(direct)


def test_rouge_of_empty_and_unicode_predictions_is_defined():
    assert rouge_example("", "unit 1 struck unit 2")["rouge1_f1"] == 0.0
    assert rouge_example("unit 1 café struck", "unit 1 café struck")["rouge1_f1"] == pytest.approx(1.0)
    assert rouge_scores([], []) == {}
    with pytest.raises(ValueError):
        rouge_scores(["a"], [])


# ----------------------------------------------------------------------------- BLEU


def test_bleu_hand_worked_case():
    # p1..p4 = 5/6, 3/5, 2/4, 1/3 and equal lengths (BP = 1); BLEU-n is cumulative.
    scores = bleu_scores(["the cat sat on the mat"], ["the cat sat on a mat"])
    assert scores["bleu_1"] == pytest.approx(5 / 6)
    assert scores["bleu_2"] == pytest.approx(math.sqrt(5 / 6 * 3 / 5))
    assert scores["bleu_4"] == pytest.approx((5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25)
    assert scores["bleu_precision_3"] == pytest.approx(0.5)
    assert scores["bleu_brevity_penalty"] == pytest.approx(1.0)


def test_bleu_identical_texts_score_one():
    scores = bleu_scores(["unit 1 struck unit 2 from behind"] * 2, ["unit 1 struck unit 2 from behind"] * 2)
    assert scores["bleu"] == pytest.approx(1.0)
    assert scores["sentence_bleu"] == pytest.approx(1.0)


def test_bleu_agrees_with_sacrebleu_called_directly():
    predictions, references = [p for p, _ in PAIRS], [r for _, r in PAIRS]
    ours = bleu_scores(predictions, references)
    for order in range(1, 5):
        direct = BLEU(max_ngram_order=order).corpus_score(predictions, [references]).score / 100
        assert ours[f"bleu_{order}"] == pytest.approx(direct)
    sentence = sum(sacrebleu.sentence_bleu(p, [r]).score for p, r in PAIRS) / 100 / len(PAIRS)
    assert ours["sentence_bleu"] == pytest.approx(sentence)


# ----------------------------------------------------------------------------- length, plan, source


def test_length_ratio_and_compression():
    row = length_example("a b", "a b c d", "one two three four five six seven eight")
    assert (row["pred_words"], row["ref_words"], row["length_ratio"]) == (2, 4, 0.5)
    assert row["compression"] == pytest.approx(0.25)
    assert length_example("a", "")["length_ratio"] is None


def test_plan_coverage_matches_keywords_of_causes_and_collisions():
    plan = ["1) failed to yield right of way at stop sign -> rear-end collision | actors=U1 -> U2",
            "2) unsafe speed -> rear-end collision"]
    row = plan_coverage("Unit 1 rear-ended unit 2 after failing to yield at the stop sign", plan)
    assert row["plan_factor_coverage"] == pytest.approx(0.5)  # "unsafe speed" not stated
    assert row["plan_collision_coverage"] == pytest.approx(1.0)  # one distinct collision, stated
    assert row["plan_coverage"] == pytest.approx(2 / 3)
    assert plan_coverage("anything", [])["plan_coverage"] is None


def test_faithfulness_counts_words_the_narrative_supports():
    narrative = "unit 1 was traveling north and struck unit 2"
    assert faithfulness("unit 1 struck unit 2", narrative)["faithfulness_unigram"] == pytest.approx(1.0)
    row = faithfulness("unit 1 struck a deer", narrative)
    assert row["faithfulness_unigram"] == pytest.approx(3 / 4)  # unit, 1, struck supported; deer not
    assert faithfulness("", narrative)["faithfulness_unigram"] is None


def test_hallucinated_specifics_finds_invented_units_roads_and_numbers():
    narrative = "unit 1 struck unit 2 on i-35 near main street at 45 mph"
    row = hallucinated_specifics("Unit 3 struck Unit 2 on IH 35 near Main St at 70 mph on Elm Ave", narrative)
    assert row["hallucinated_list"].split("; ") == ["unit 3", "elm ave", "70"]
    assert row["has_hallucinated_specific"] == 1.0
    clean = hallucinated_specifics("Unit 1 struck Unit 2 on Interstate 35.", narrative)
    assert clean["hallucinated_specifics"] == 0.0 and clean["specifics_total"] == 3.0


def test_a_unit_spelled_another_way_is_not_invented():
    narrative = "unit two was slowing in lane 1. veh #1 followed too closely and struck v2."
    assert hallucinated_specifics("Unit 1 followed too closely and struck Unit 2.", narrative)["hallucinated_list"] == ""
    assert hallucinated_specifics("Unit 3 struck Unit 2.", narrative)["hallucinated_list"] == "unit 3"


# ----------------------------------------------------------------------------- suite


def test_aggregates_have_stable_keys_and_bootstrap_is_seeded():
    narratives = [r for _, r in PAIRS]
    rows = text_rows([p for p, _ in PAIRS], [r for _, r in PAIRS], narratives, [["1) unsafe speed -> rollover"]] * 5)
    aggregates, counts = aggregate(rows)
    assert tuple(aggregates) == AGGREGATE_KEYS
    assert counts["length_ratio_mean"] == 5 and aggregates["rouge1_f1"] is not None
    first = bootstrap_intervals(rows, samples=200, seed=7)
    assert first == bootstrap_intervals(rows, samples=200, seed=7)
    for key in ("rouge1_f1", "bleu_4", "faithfulness_unigram"):
        low, high = first[key]
        assert low <= aggregates[key] + 1e-12 and aggregates[key] - 1e-12 <= high


def test_distinct_share_counts_summaries_no_other_repeats():
    assert distinct_share(["Unit 1 sped.", "unit 1 sped. ", "Unit 2 turned.", "Unit 3 backed."]) == 0.5
    assert distinct_share([]) == 0.0


def test_running_aggregate_matches_numpy_and_corpus_bleu():
    import sacrebleu

    predictions = [p for p, _ in PAIRS] * 3
    references = [r for _, r in PAIRS] * 3
    rows = text_rows(predictions, references)
    rows[2]["similarity"], rows[4]["similarity"] = 0.25, 0.75  # defined in two rows only; NaN/None elsewhere
    rows[5]["similarity"] = float("nan")
    aggregates, counts = aggregate(iter(rows))  # a generator: streamed, never a list
    assert aggregates["length_ratio_mean"] == pytest.approx(np.mean([r["length_ratio"] for r in rows]))
    assert aggregates["length_ratio_std"] == pytest.approx(np.std([r["length_ratio"] for r in rows]))
    assert (aggregates["similarity_mean"], aggregates["similarity_std"], counts["similarity_mean"]) == \
        (pytest.approx(0.5), pytest.approx(0.25), 2)
    assert aggregates["bleu"] == pytest.approx(sacrebleu.corpus_bleu(predictions, [references]).score / 100)
    assert aggregates["bertscore_f1"] is None and counts["bertscore_f1"] == 0


def test_constant_metric_has_a_point_interval():
    rows = text_rows(["unit 1 struck unit 2"] * 10, ["unit 1 struck unit 2"] * 10)
    intervals = bootstrap_intervals(rows, samples=50)
    assert intervals["rouge1_f1"] == [pytest.approx(1.0), pytest.approx(1.0)]
    assert intervals["plan_coverage"] is None  # no plans: no interval, not a zero


def test_two_workers_give_the_same_rows(monkeypatch):
    import crashtransformer.metrics.suite as suite

    monkeypatch.setattr(suite, "MIN_PAIRS_PER_WORKER", 2)
    predictions, references = [p for p, _ in PAIRS] * 2, [r for _, r in PAIRS] * 2
    assert text_rows(predictions, references, workers=2) == text_rows(predictions, references, workers=1)


def test_score_pairs_without_narratives_or_plans_says_what_was_skipped():
    report = score_pairs([p for p, _ in PAIRS], [r for _, r in PAIRS], options=NO_MODELS)
    assert set(report.skipped) == {"faithfulness", "plan_coverage", "bertscore", "similarity"}
    assert report.aggregates["bertscore_f1"] is None and report.aggregates["faithfulness_unigram"] is None
    assert report.settings["rouge"]["use_stemmer"] is True
    assert "tok:13a" in report.settings["bleu"]["corpus_signature"]
    assert not any(key.startswith("_bleu") for key in report.per_example[0])


CLAIM_NARRATIVE = "Unit 2 was stopped at the light. Unit 1 failed to control speed and struck the back of Unit 2."
CLAIM_PREDICTIONS = ("Unit 1 failed to control speed and struck the back of Unit 2.",  # clean
                     "Unit 1 likely failed to control speed and struck Unit 2.",  # a hedge
                     "Unit 1 ran the red light and struck Unit 2.")  # a cause the narrative never gives


def test_claim_rates_count_unsupported_claims_and_speculation_apart():
    rows = text_rows(CLAIM_PREDICTIONS, [CLAIM_NARRATIVE] * 3, [CLAIM_NARRATIVE] * 3)
    assert [(r["has_unsupported_claim"], r["has_speculation"], r["unsupported_claims"]) for r in rows] == \
        [(0.0, 0.0, 0.0), (0.0, 1.0, 0.0), (1.0, 0.0, 1.0)]  # a hedge is speculation, not a claim
    assert rows[0]["unsupported_list"] == "" and rows[1]["unsupported_list"].startswith("hedge: likely")
    assert rows[2]["unsupported_list"] == "factor: ran the red light (the narrative gives no cue for " \
                                          "'disregarded traffic signal')"
    aggregates, counts = aggregate(rows)
    assert aggregates["unsupported_claim_rate"] == pytest.approx(1 / 3)
    assert aggregates["speculation_rate"] == pytest.approx(1 / 3)
    assert aggregates["unsupported_claims_mean"] == pytest.approx(1 / 3)
    assert counts["unsupported_claim_rate"] == counts["speculation_rate"] == 3
    assert not any("unsupported_list" in key for key in aggregates)  # text, never a number


def test_score_pairs_reports_the_claim_rates_with_their_settings_and_intervals():
    options = MetricSettings(bertscore=False, similarity=False, bootstrap_samples=50)
    report = score_pairs(CLAIM_PREDICTIONS, [CLAIM_NARRATIVE] * 3, [CLAIM_NARRATIVE] * 3, options=options)
    assert report.aggregates["unsupported_claim_rate"] == pytest.approx(1 / 3)
    assert report.aggregates["speculation_rate"] == pytest.approx(1 / 3)
    low, high = report.confidence_intervals["unsupported_claim_rate"]
    assert 0.0 <= low <= 1 / 3 <= high <= 1.0
    assert set(report.settings["claims"]) == {"unsupported_claim_rate", "speculation_rate"}
    assert "likely" in report.settings["claims"]["speculation_rate"]
    without = score_pairs(CLAIM_PREDICTIONS, [CLAIM_NARRATIVE] * 3, options=NO_MODELS)
    assert without.aggregates["unsupported_claim_rate"] is None and without.counts["speculation_rate"] == 0
    assert "unsupported claims" in without.skipped["faithfulness"]
    assert "has_speculation" not in without.per_example[0]


# ----------------------------------------------------------------------------- model-based (offline MiniLM)


def test_bertscore_and_similarity_are_real_numbers_from_the_offline_minilm():
    predictions = ["unit 1 struck unit 2 from behind", "the weather was sunny", "", "unit 1 rear-ended unit 2",
                   "unit 1 struck unit 2 on main street. " * 300]  # past the encoder's 512 tokens: truncated
    references = ["unit 1 struck unit 2 from behind", "unit 2 disregarded the red light", "unit 1 backed up",
                  "unit 1 struck the back of unit 2", "unit 1 struck unit 2"]
    report = score_pairs(predictions, references, options=MetricSettings(bootstrap_samples=20))
    assert report.skipped.keys() == {"faithfulness", "plan_coverage"}
    rows = report.per_example
    assert rows[0]["bertscore_f1"] == pytest.approx(1.0, abs=1e-4)
    assert rows[0]["similarity"] == pytest.approx(1.0, abs=1e-4)
    assert rows[2]["bertscore_f1"] == 0.0  # empty prediction: bert-score's own convention
    assert rows[3]["bertscore_f1"] > rows[1]["bertscore_f1"]
    assert rows[3]["similarity"] > rows[1]["similarity"]
    assert 0 < rows[4]["bertscore_f1"] < 1
    assert 0 < report.aggregates["bertscore_f1"] < 1 and 0 < report.aggregates["similarity_mean"] < 1
    assert report.settings["bertscore"]["num_layers"] == 6
    assert report.settings["bertscore"]["model"] == "all-MiniLM-L6-v2"


def test_unavailable_model_is_skipped_with_a_reason_never_zero(tmp_path):
    options = MetricSettings(bertscore_model=str(tmp_path / "missing"), similarity_model="no-such-org/no-such-model",
                            bootstrap_samples=0)
    report = score_pairs(["unit 1 struck unit 2"], ["unit 1 struck unit 2"], options=options)
    assert "not found" in report.skipped["bertscore"]
    assert "no-such-org/no-such-model" in report.skipped["similarity"]
    assert report.aggregates["bertscore_f1"] is None and report.aggregates["similarity_mean"] is None
    assert "bertscore_f1" not in report.per_example[0]
