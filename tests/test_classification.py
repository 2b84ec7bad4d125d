"""`train --task classification` and `run` with the resulting classifier (the beginner's workflow)."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from crashtransformer.core.errors import UserError
from crashtransformer.train.classification import (
    LabelledText,
    balanced_class_weights,
    classification_scores,
    label_maps,
    read_labelled_file,
    stratified_split,
)
from crashtransformer.train.encoder import best_model_metric

# Words from the tiny encoder's corpus (conftest._mini_corpus): each label has its own verb phrase.
ACTIONS = {"yield": "failed to yield to", "backing": "backed into", "following": "followed too closely behind"}
UNITS = ["Unit 1", "Unit 2", "U1", "V2", "Unit #3"]
PLACES = ["in the 1200 block of Main St", "at the intersection of Oak Ave and 5th St", "on IH 35 northbound",
          "in a parking lot"]


def write_labelled_csv(path: Path, rows: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for index in range(rows):
            label = list(ACTIONS)[index % len(ACTIONS)]
            a, b = rng.sample(UNITS, 2)
            writer.writerow([f"{a} {ACTIONS[label]} {b} {rng.choice(PLACES)}. Case {index}.", label])
    return path


# ----------------------------------------------------------------------------- pieces


def test_stratified_split_keeps_label_shares_duplicates_and_singletons():
    rows = [LabelledText(str(i), f"text {i}", "a" if i < 80 else "b", i) for i in range(100)]
    rows += [LabelledText("dup1", "same words", "a", 101), LabelledText("dup2", "Same  words", "a", 102)]
    rows.append(LabelledText("one", "only c", "c", 103))
    train, validation = stratified_split(rows, [r.label for r in rows], 0.2, seed=1)
    labels = [r.label for r in validation]
    assert labels.count("a") in (16, 17, 18) and labels.count("b") == 4
    assert "c" not in labels  # a label seen once always trains
    ids = {r.crash_id for r in validation}
    assert ("dup1" in ids) == ("dup2" in ids)  # the same text never lands on both sides
    assert len(train) + len(validation) == len(rows)
    assert stratified_split(rows, [r.label for r in rows], 0.2, seed=1)[1] == validation  # seeded


def test_label_maps_weights_scores_and_metric_choice():
    label2id, id2label = label_maps(["b", "a", "b", "c"])
    assert label2id == {"a": 0, "b": 1, "c": 2} and id2label[2] == "c"
    weights = balanced_class_weights(["a", "b", "b", "b"], {"a": 0, "b": 1})
    assert weights == pytest.approx([2.0, 2 / 3])
    scores = classification_scores([0, 0, 1, 1], [0, 1, 1, 1])
    assert scores["accuracy"] == 0.75 and scores["micro_f1"] == 0.75
    assert scores["macro_f1"] == pytest.approx((2 / 3 + 0.8) / 2)
    assert best_model_metric("rougeL_f1", ["macro_f1"], "macro_f1", "classification") == "macro_f1"
    assert best_model_metric("eval_accuracy", ["accuracy"], "macro_f1", "classification") == "accuracy"
    with pytest.raises(UserError, match="produces"):
        best_model_metric("bleu", ["accuracy"], "macro_f1", "classification")


def test_reading_labels_names_problems(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("Narrative,MANCOLL_LABEL\nUnit 1 backed into Unit 2.,Rear-End\nUnit 2 failed to yield.,\n"
                    "Unit 3 struck a pole.,0\n", encoding="utf-8")
    rows, column = read_labelled_file(str(path), None, None, "mancoll_label")
    assert column == "MANCOLL_LABEL"
    assert [(r.label, r.row_number) for r in rows] == [("Rear-End", 1), ("0", 3)]  # the empty label is skipped
    with pytest.raises(UserError, match="no label column.*--label_column"):
        read_labelled_file(str(path), None, None, None)
    with pytest.raises(UserError, match="no column 'severity'"):
        read_labelled_file(str(path), None, None, "severity")


def test_artifact_store_refuses_to_mix_tasks(tmp_path):
    from crashtransformer.run.artifacts import METRICS, ArtifactStore
    from crashtransformer.run.classify import CLASSIFICATION_COLUMNS

    store = ArtifactStore(tmp_path / "fresh").open()
    store.use_metric_columns(CLASSIFICATION_COLUMNS)
    store.append_chunk([], [{"Crash_ID": "1", "source_file": "f", "metrics": {"predicted_label": "x", "confidence": 0.5}}])
    reopened = ArtifactStore(tmp_path / "fresh").open()
    assert reopened.metric_columns == CLASSIFICATION_COLUMNS
    assert (tmp_path / "fresh" / METRICS).read_text().splitlines()[1].startswith("1,f,,x,0.5")

    summaries = ArtifactStore(tmp_path / "summaries").open()
    summaries.append_chunk([], [{"Crash_ID": "1", "best_summary": "s", "metrics": {}}])
    with pytest.raises(UserError, match="another kind of model"):
        ArtifactStore(tmp_path / "summaries").open().use_metric_columns(CLASSIFICATION_COLUMNS)


# ----------------------------------------------------------------------------- end to end


def test_beginner_workflow_csv_train_run(tmp_path, tiny_encoder, inprocess_cli):
    """text,label CSV -> train --task classification -> run prints each crash's label and confidence."""
    data = write_labelled_csv(tmp_path / "train.csv", 150)
    out = tmp_path / "classifier"
    trained = inprocess_cli("train", "--task", "classification", "--training_data", str(data), "--model_name",
                      str(tiny_encoder), "--output_dir", str(out), "--num_epochs", "4", "--batch_size", "8",
                      "--learning_rate", "3e-3", "--warmup_steps", "0", "--class_weights", "balanced",
                      "--report_to", "none", "--max_length", "64")
    assert trained.exit_code == 0, trained.output[-3000:]

    config = json.loads((out / "final_model" / "config.json").read_text())
    assert config["architectures"] == ["BertForSequenceClassification"]
    assert config["id2label"] == {"0": "backing", "1": "following", "2": "yield"} and config["label_column"] == "label"
    results = json.loads((out / "evaluation_results.json").read_text())
    metrics = results["metrics"]
    assert {"accuracy", "macro_f1", "micro_f1", "weighted_precision", "macro_recall"} <= set(metrics)
    assert results["data"]["validation_rows"] == 15  # stratified: 5 of each label
    assert set(results["per_class"]) >= {"backing", "following", "yield", "macro avg"}
    assert len(results["confusion_matrix"]["rows_true_columns_predicted"]) == 3
    assert results["baseline_majority_class"]["accuracy"] == pytest.approx(1 / 3)
    assert metrics["accuracy"] > 0.6  # the verbs separate the labels; a third is chance
    assert results["labels"]["class_weights"] is not None
    assert (out / "plots" / "confusion_matrix.png").stat().st_size > 0 and (out / "plots" / "loss.png").exists()
    assert json.loads((out / "training_config.json").read_text())["task"] == "classification"

    crashes = tmp_path / "crashes.csv"
    crashes.write_text("Crash_ID,Narrative\nC1,Unit 2 backed into Unit 1 in a parking lot.\n"
                       "C2,U1 followed too closely behind V2 on IH 35 northbound.\n", encoding="utf-8")
    ran = inprocess_cli("run", "--csv", str(crashes), "--model", str(out / "final_model"), "--out_dir", str(tmp_path / "artifacts"))
    assert ran.exit_code == 0, ran.output[-3000:]
    assert "C1: " in ran.output and "(confidence 0." in ran.output
    rows = [json.loads(line) for line in (tmp_path / "artifacts" / "crash_summaries.jsonl").read_text().splitlines()]
    assert [r["Crash_ID"] for r in rows] == ["C1", "C2"]
    for row in rows:
        assert row["predicted_label"] in {"backing", "following", "yield"} and 0 < row["confidence"] <= 1
        assert [t["label"] for t in row["top_k"]][0] == row["predicted_label"] and len(row["top_k"]) == 3
    header = (tmp_path / "artifacts" / "summaries_metrics.csv").read_text().splitlines()[0]
    assert header.startswith("Crash_ID,source_file,narrative_words,predicted_label,confidence")
    report = json.loads((tmp_path / "artifacts" / "run_report.json").read_text())
    assert report["model"]["task"] == "classification" and report["metrics"]["crashes"] == 2
