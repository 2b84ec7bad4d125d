"""The synthetic crash generator: determinism, coverage, exact spans, consistent labels, noise."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from crashtransformer.prepare.synthetic import phrases as P
from crashtransformer.prepare.synthetic import scene as S
from crashtransformer.plan.catalogue import FACTOR_BY_KEY, FACTORS, MANNER_BY_KEY, parse_plan
from crashtransformer.core.errors import UserError
from crashtransformer.prepare.synthetic.generator import SEVERITIES, WRITTEN_MANNERS, diversity_report, generate_records, make_record

_UNIT = re.compile(r"^(unit|vehicle|veh|u|v)[ #\-]*#? ?(\d|one|two|three)$", re.I)
_PLACEHOLDER = re.compile(r"\{(?:A|B|C)\}")


@pytest.fixture(scope="module")
def noisy() -> list:
    return list(generate_records(1500, seed=11, noise=0.6))


def _cue_chunks(templates) -> set[str]:
    """Every labelled chunk a collision template can write, objects filled in, lower case."""
    chunks = set()
    for template in templates:
        for obj in P.FIXED_OBJECTS:
            for piece in _PLACEHOLDER.split(template.replace("{OBJ}", obj)):
                core = piece.strip(" ,;.")
                if core and core != "and":
                    chunks.add(core.lower())
    return chunks


def test_same_seed_same_records_and_lazy():
    first = list(generate_records(60, seed=3))
    again = list(generate_records(60, seed=3))
    assert [r.__dict__ for r in first] == [r.__dict__ for r in again]
    assert make_record(59, seed=3).__dict__ == first[59].__dict__  # any record alone, no state carried
    huge = generate_records(10**9, seed=3)  # lazy: a billion costs nothing until read
    assert next(iter(huge)).narrative == first[0].narrative


def test_different_seeds_differ():
    one = {r.narrative for r in generate_records(200, seed=1)}
    two = {r.narrative for r in generate_records(200, seed=2)}
    assert len(one & two) == 0


def test_every_factor_and_manner_appears_in_5000():
    factors, manners = set(), set()
    for record in generate_records(5000, seed=42):
        factors.update(record.metadata["factors"])
        manners.add(record.metadata["manner"])
    assert factors == {f.key for f in FACTORS}
    assert manners == {m.key for m in WRITTEN_MANNERS}  # every manner but animal strikes, which it does not write


def test_factor_phrasings_are_plentiful_and_keyed_by_catalogue():
    assert set(P.FACTOR_PHRASES) == {f.key for f in FACTORS} == set(P.FACTOR_MANNERS)
    assert set(P.MANNER_PHRASES) == {m.key for m in WRITTEN_MANNERS}
    assert all(len(set(phrases)) >= 3 for phrases in P.FACTOR_PHRASES.values())
    assert all(len(set(phrases)) >= 3 for phrases in P.MANNER_PHRASES.values())
    assert all(m in P.MANNER_PHRASES for manners in P.FACTOR_MANNERS.values() for m in manners)


def test_spans_are_exact_after_noise(noisy):
    factor_texts = {k: {p.lower() for p in P.FACTOR_PHRASES[k] + P.FACTOR_ABBREVIATIONS.get(k, ())}
                    for k in P.FACTOR_PHRASES}
    cues = {k: _cue_chunks(P.MANNER_PHRASES[k] + P.MANNER_ABBREVIATIONS.get(k, ())) for k in P.MANNER_PHRASES}
    labels_seen = set()
    for record in noisy:
        spans = record.metadata["spans"]
        assert all(a["end"] <= b["start"] for a, b in itertools.pairwise(spans)), record.crash_id  # ordered, disjoint
        for span in spans:
            text = record.narrative[span["start"]:span["end"]]
            labels_seen.add(span["label"])
            if span["label"] == "FACTOR":
                assert text.lower() in factor_texts[span["key"]], (record.crash_id, text)
            elif span["label"] == "COLLISION":
                assert span["key"] == record.metadata["manner"] and text.lower() in cues[span["key"]], text
            else:
                assert span["label"] == "UNIT" and _UNIT.match(text), (record.crash_id, text)
                assert span["key"] in {u["id"] for u in record.metadata["units"]}
        factor_keys = [s["key"] for s in spans if s["label"] == "FACTOR"]
        assert factor_keys == record.metadata["factors"]
    assert labels_seen == {"UNIT", "FACTOR", "COLLISION"}


def test_severity_matches_injuries():
    for record in generate_records(1500, seed=11, noise=0.0):  # clean: no typo hides "deceased"
        meta = record.metadata
        injuries = meta["injuries"]
        worst = max((SEVERITIES.index(i["severity"]) for i in injuries), default=0)
        assert meta["Crash_Severity"] == SEVERITIES[worst]
        fatal_words = re.search(r"deceased|dead|died", record.narrative, re.I)
        assert bool(fatal_words) == (meta["Crash_Severity"] == "Fatal"), record.narrative
        assert bool(re.search(r"killed|died", record.summary)) == (meta["Crash_Severity"] == "Fatal")
        if meta["manner"] in ("pedestrian", "cyclist") and injuries:
            assert injuries[0]["person"] == meta["manner"]


def test_plans_match_factors_and_no_cause_crashes_have_none(noisy):
    no_cause = [r for r in noisy if not r.metadata["factors"]]
    assert 0.02 < len(no_cause) / len(noisy) < 0.09  # about 5%, as in real narratives
    for record in noisy:
        steps = parse_plan(record.plan_lines)
        assert [s.cause for s in steps] == [FACTOR_BY_KEY[k].plan_text for k in record.metadata["factors"]]
        assert all(s.effect == MANNER_BY_KEY[record.metadata["manner"]].plan_text for s in steps)
        assert all(s.actors and s.actors[0] == next(u["id"] for u in record.metadata["units"] if u["at_fault"])
                   for s in steps)
    for record in no_cause:
        assert record.plan_lines == [] and not any(s["label"] == "FACTOR" for s in record.metadata["spans"])


def test_noise_zero_is_clean_and_describes_the_same_crashes():
    vocabulary = set()
    for module in ("phrases", "scene", "noise", "generator"):
        source = (Path(__file__).resolve().parents[1] / "crashtransformer" / "prepare" / "synthetic"
                  / f"{module}.py").read_text()
        vocabulary.update(re.findall(r"[a-z]+", source.lower()))
    clean = list(generate_records(400, seed=5, noise=0.0))
    noisy = list(generate_records(400, seed=5, noise=1.0))
    unknown_clean = unknown_noisy = 0
    for plain, messy in zip(clean, noisy):
        assert (plain.metadata["factors"], plain.metadata["manner"], plain.summary) == (
            messy.metadata["factors"], messy.metadata["manner"], messy.summary)
        assert not re.search(r"\b(N/B|S/B|blk|intx|FTCS|FTYROW|w/o|U\d|V\d)\b|  |\.\S", plain.narrative)
        assert all(s[0].isupper() for s in re.split(r"(?<=\.) ", plain.narrative))
        unknown_clean += len(set(re.findall(r"[a-z]+", plain.narrative.lower())) - vocabulary)
        unknown_noisy += len(set(re.findall(r"[a-z]+", messy.narrative.lower())) - vocabulary)
    assert unknown_clean == 0  # no typos without noise
    assert unknown_noisy > 20  # and there are some with it
    assert sum(m.narrative == m.narrative.lower() for m in noisy) > 200  # real CRIS text is lower case


def test_ids_are_unique_strings_and_summaries_short():
    records = list(generate_records(2000, seed=8))
    ids = [r.crash_id for r in records]
    assert all(isinstance(i, str) for i in ids) and len(set(ids)) == len(ids)
    for record in records:
        sentences = [s for s in re.split(r"(?<=\.)\s", record.summary) if s]
        assert 1 <= len(sentences) <= 2 and record.summary.endswith(".") and "Unit " in record.summary
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", record.metadata["CrashDate"])
        assert (record.metadata["City"], record.metadata["County"]) in S.CITIES


def test_diversity_report_counts_what_it_says():
    records = list(generate_records(300, seed=4))
    report = diversity_report(records)
    assert report["records"] == 300 and report["distinct_narrative_ratio"] >= 0.99
    assert 0 < report["distinct_4gram_ratio"] < 1
    doubled = diversity_report(records + records)
    assert doubled["distinct_narrative_ratio"] == pytest.approx(report["distinct_narrative_ratio"] / 2)
    assert doubled["distinct_4gram_ratio"] == pytest.approx(report["distinct_4gram_ratio"] / 2)


@pytest.mark.parametrize("count, noise", [(-1, 0.3), (10, 1.5), (10, -0.1)])
def test_bad_arguments_say_what_to_change(count, noise):
    with pytest.raises(UserError):
        generate_records(count, seed=1, noise=noise)
