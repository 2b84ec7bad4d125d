"""`train --task ner` from span annotations, and `run` with the resulting tagger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crashtransformer.core.errors import UserError
from crashtransformer.train.tagging import (
    SpanError,
    align_labels,
    bio_tags,
    entity_scores,
    parse_spans,
    read_tagged_file,
    tags_to_entities,
    word_spans,
    word_tags,
)


@pytest.fixture(scope="module")
def tokenizer(tiny_encoder):
    from crashtransformer.models.loading import load_tokenizer

    return load_tokenizer(str(tiny_encoder))


def write_synthetic_jsonl(path: Path, count: int, seed: int) -> Path:
    """prepare-data's layout: narrative at the top, spans under metadata."""
    from crashtransformer.prepare.synthetic.generator import generate_records

    with path.open("w", encoding="utf-8") as handle:
        for record in generate_records(count, seed=seed):
            handle.write(json.dumps({"Crash_ID": record.crash_id, "narrative": record.narrative,
                                     "metadata": {"spans": record.metadata["spans"]}}) + "\n")
    return path


# ----------------------------------------------------------------------------- spans and tags


def test_parse_spans_validates_and_drops_overlaps():
    text = "Unit 1 struck Unit 2."
    spans, dropped = parse_spans('[{"start": 14, "end": 20, "label": "UNIT"}, {"start": 0, "end": 6, "label": "UNIT"},'
                                 ' {"start": 2, "end": 8, "label": "X"}]', text)
    assert spans == [(0, 6, "UNIT"), (14, 20, "UNIT")] and dropped == 1
    for bad, message in [('[{"start": 0, "end": 99, "label": "U"}]', "not inside the text"),
                         ('[{"start": "0", "end": 3, "label": "U"}]', "must be integers"),
                         ('[{"start": 0, "end": 3}]', "no label"), ("[oops", "not valid JSON"), ("{}", "list")]:
        with pytest.raises(SpanError, match=message):
            parse_spans(bad, text)


def test_labels_go_on_first_sub_tokens_in_bio(tokenizer):
    text = "Unit 2 disregarded the signal and struck V2."
    spans = [(0, 6, "UNIT"), (7, 29, "FACTOR"), (34, 40, "COLLISION"), (41, 43, "UNIT")]
    tag2id = {t: i for i, t in enumerate(bio_tags([type("R", (), {"spans": spans})()]))}
    encoding = tokenizer(text).encodings[0]
    labels = align_labels(encoding, spans, tag2id)
    id2tag = {i: t for t, i in tag2id.items()}
    words = word_spans(encoding.offsets, encoding.word_ids)
    by_word = {text[start:end]: id2tag[labels[first]] for first, start, end in words.values()}
    assert by_word["Unit"] == "B-UNIT" and by_word["2"] == "I-UNIT"
    assert by_word["disregarded"] == "B-FACTOR" and by_word["signal"] == "I-FACTOR"
    assert by_word["and"] == "O" and by_word["struck"] == "B-COLLISION" and by_word["."] == "O"
    assert labels[0] == -100 and labels[-1] == -100  # [CLS] and [SEP]
    scored = {first for first, _, _ in words.values()}
    assert all(label == -100 for index, label in enumerate(labels) if index not in scored)  # later sub-tokens
    entities = tags_to_entities(text, words, word_tags(words, spans))
    assert [(e["label"], e["text"]) for e in entities] == [("UNIT", "Unit 2"), ("FACTOR", "disregarded the signal"),
                                                           ("COLLISION", "struck"), ("UNIT", "V2")]


def test_entity_scores_count_whole_entities():
    truth = [["B-UNIT", "I-UNIT", "O", "B-FACTOR"]]
    predicted = [["B-UNIT", "O", "O", "B-FACTOR"]]  # the unit is cut short: a miss, not half a hit
    scores = entity_scores(truth, predicted)
    assert scores["f1"] == pytest.approx(0.5) and scores["accuracy"] == pytest.approx(0.75)


def test_reading_span_files(tmp_path):
    plain = tmp_path / "plain.jsonl"
    plain.write_text(json.dumps({"text": "Unit 1 struck Unit 2.", "spans": [{"start": 0, "end": 6, "label": "UNIT"}]})
                     + "\n" + json.dumps({"text": "No spans here."}) + "\n"
                     + json.dumps({"text": "Bad.", "spans": [{"start": 0, "end": 40, "label": "UNIT"}]}) + "\n",
                     encoding="utf-8")
    rows = read_tagged_file(str(plain), None, None)
    assert len(rows) == 1 and rows[0].spans == [(0, 6, "UNIT")]  # the other two are skipped with a warning
    synthetic = read_tagged_file(str(write_synthetic_jsonl(tmp_path / "syn.jsonl", 5, seed=3)), None, None)
    assert len(synthetic) == 5
    for row in synthetic:
        assert all(row.text[s:e].strip() for s, e, _ in row.spans)
        assert {label for _, _, label in row.spans} <= {"UNIT", "FACTOR", "COLLISION"}
    csv_file = tmp_path / "spans.csv"
    csv_file.write_text('text,spans\n"Unit 1 hit a pole.","[{""start"": 0, ""end"": 6, ""label"": ""UNIT""}]"\n',
                        encoding="utf-8")
    assert read_tagged_file(str(csv_file), None, None)[0].spans == [(0, 6, "UNIT")]
    empty = tmp_path / "none.jsonl"
    empty.write_text(json.dumps({"text": "no spans"}) + "\n", encoding="utf-8")
    with pytest.raises(UserError, match="spans"):
        read_tagged_file(str(empty), None, None)


# ----------------------------------------------------------------------------- end to end


def test_train_ner_then_run_tags_entities(tmp_path, tiny_encoder, inprocess_cli):
    data = write_synthetic_jsonl(tmp_path / "train.jsonl", 240, seed=11)
    out = tmp_path / "tagger"
    trained = inprocess_cli("train", "--task", "ner", "--training_data", str(data), "--model_name", str(tiny_encoder),
                            "--output_dir", str(out), "--num_epochs", "3", "--batch_size", "16",
                            "--learning_rate", "5e-3", "--warmup_steps", "0", "--report_to", "none",
                            "--max_length", "192")
    assert trained.exit_code == 0, trained.output[-3000:]
    config = json.loads((out / "final_model" / "config.json").read_text())
    assert config["architectures"] == ["BertForTokenClassification"]
    assert set(config["label2id"]) == {"O", "B-UNIT", "I-UNIT", "B-FACTOR", "I-FACTOR", "B-COLLISION", "I-COLLISION"}
    results = json.loads((out / "evaluation_results.json").read_text())
    assert results["metrics"]["f1"] > 0.5  # units alone are most entities; chance is near 0
    assert {"UNIT", "FACTOR", "COLLISION"} <= set(results["per_entity_type"])
    predictions = [json.loads(line) for line in (out / "validation_predictions.jsonl").read_text().splitlines()]
    assert len(predictions) == results["data"]["validation_rows"] == 24

    crashes = tmp_path / "crashes.jsonl"
    crashes.write_text(json.dumps({"Crash_ID": "C1", "narrative": "Unit 1 was traveling north on Main St. Unit 1 "
                                   "failed to control speed and struck Unit 2 from behind."}) + "\n", encoding="utf-8")
    ran = inprocess_cli("run", "--jsonl", str(crashes), "--model", str(out / "final_model"), "--out_dir",
                        str(tmp_path / "artifacts"))
    assert ran.exit_code == 0, ran.output[-3000:]
    row = json.loads((tmp_path / "artifacts" / "crash_summaries.jsonl").read_text())
    narrative = json.loads(crashes.read_text())["narrative"]
    assert row["task"] == "ner" and row["entities"]
    for entity in row["entities"]:
        assert narrative[entity["start"]:entity["end"]] == entity["text"] and entity["label"] in {"UNIT", "FACTOR",
                                                                                                  "COLLISION"}
    assert any(e["label"] == "UNIT" and e["text"] == "Unit 1" for e in row["entities"])
    header = (tmp_path / "artifacts" / "summaries_metrics.csv").read_text().splitlines()[0]
    assert header == "Crash_ID,source_file,narrative_words,entity_count,entity_labels"
