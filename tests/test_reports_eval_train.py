"""evaluation_report.html and training_report.html, built from small hand-made inputs (no model)."""

from __future__ import annotations

import math
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from crashtransformer.core.config import EvaluateConfig, TrainConfig, build_config
from crashtransformer.evaluate.html import write_evaluation_html
from crashtransformer.train.common import evaluation_history, save_run_files
from crashtransformer.train.html import write_training_html

ATTACK = "<script>alert(1)</script>"
NETWORK = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def _section(page: str, section_id: str) -> str:
    """The text of <div id=section_id> up to the next heading."""
    start = page.index(f'<div id="{section_id}">')
    return page[start:page.index("<h2", start) if "<h2" in page[start:] else None]


def _assert_safe(page: str) -> None:
    assert ATTACK not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert" not in page
    assert not NETWORK.search(page) and "http://" not in page and "https://" not in page


# ----------------------------------------------------------------------------- evaluation


def _evaluation_inputs():
    per_example = [{"Crash_ID": f"C{i:02d}", "prediction": f"unit {i} struck unit 2", "reference": f"reference {i}",
                    "narrative": f"narrative {i}", "rougeL_f1": i / 20, "rouge1_f1": i / 10, "has_x": bool(i % 2)}
                   for i in range(12)]
    per_example[0]["prediction"] = f"worst {ATTACK}"
    per_example[11]["narrative"] = f"best {ATTACK}"
    per_example[5]["rougeL_f1"] = math.nan  # unranked
    results = {"aggregates": {"rouge1_f1": 0.55, "rougeL_f1": 0.2734, "bertscore_f1": None},
               "confidence_intervals": {"rouge1_f1": [0.41, 0.66], "rougeL_f1": [0.1812, 0.3321], "bertscore_f1": None},
               "counts": {"rouge1_f1": 12, "rougeL_f1": 11, "bertscore_f1": 0},
               "skipped": {"bertscore": "turned off (--no_bertscore)"},
               "settings": {"bootstrap": {"confidence": 0.95, "samples": 50}},
               "join": {"pairs": 12, "id_columns": ["Crash_ID", None], "only_in_references": 1},
               "generation": None, "created": "2024-05-01T10:00:00", "elapsed_s": 1.5}
    return results, per_example


def test_evaluation_page_shows_metrics_plots_and_extremes(tmp_path):
    results, per_example = _evaluation_inputs()
    from crashtransformer.evaluate.plots import write_plots

    plots = write_plots(per_example, tmp_path / "plots")
    path = write_evaluation_html(tmp_path, results, per_example, plots)
    assert path == tmp_path / "evaluation_report.html"
    page = path.read_text(encoding="utf-8")
    for text in ("rouge1_f1", "rougeL_f1", "0.2734", "0.1812", "0.3321", "95% CI", "turned off (--no_bertscore)",
                 "only_in_references"):
        assert text in page, text
    assert "bertscore_f1</td>" not in page  # no value: listed as skipped, not as a row
    assert page.count("data:image/png;base64,") == len(plots) >= 1
    worst, best = _section(page, "worst"), _section(page, "best")
    assert [f"C{i:02d}" for i in (0, 1, 2, 3, 4)] == re.findall(r"<h3>(C\d\d)", worst)
    assert [f"C{i:02d}" for i in (11, 10, 9, 8, 7)] == re.findall(r"<h3>(C\d\d)", best)
    assert "C05" not in worst + best  # NaN is not ranked
    assert "worst &lt;script&gt;" in worst and "best &lt;script&gt;" in best and "reference 11" in best
    _assert_safe(page)


def test_evaluation_page_ranks_by_another_metric_and_splits_a_small_set(tmp_path):
    per_example = [{"Crash_ID": f"id{i}", "prediction": ATTACK, "reference": "r", "sentence_bleu": i} for i in range(3)]
    page = write_evaluation_html(tmp_path, {"aggregates": {"sentence_bleu": 1.0}}, per_example, []).read_text("utf-8")
    assert "Worst 2 by sentence_bleu" in page and "Best 1 by sentence_bleu" in page
    assert re.findall(r"<h3>(id\d)", _section(page, "best")) == ["id2"]
    assert "<img" not in page
    _assert_safe(page)


def test_evaluate_writes_the_page_with_its_outputs(tmp_path):
    from crashtransformer.evaluate.command import write_outputs
    from crashtransformer.evaluate.inputs import EvaluationPairs
    from crashtransformer.metrics.suite import MetricReport

    results, per_example = _evaluation_inputs()
    metrics = [{k: v for k, v in row.items() if k not in ("Crash_ID", "prediction", "reference", "narrative")}
               for row in per_example]
    pairs = EvaluationPairs([r["Crash_ID"] for r in per_example], [r["prediction"] for r in per_example],
                            [r["reference"] for r in per_example], [r["narrative"] for r in per_example])
    report = MetricReport(results["aggregates"], results["confidence_intervals"], metrics, counts=results["counts"])
    cfg = build_config(EvaluateConfig, {"output_dir": str(tmp_path)})
    written = write_outputs(tmp_path, pairs, report, cfg, None, 0.5)
    assert tmp_path / "evaluation_report.html" in written
    page = (tmp_path / "evaluation_report.html").read_text(encoding="utf-8")
    assert "narrative 10" in page and "data:image/png;base64," in page
    _assert_safe(page)


def test_evaluate_reports_the_claim_rates_in_its_results_csv_and_headline(tmp_path):
    """Hand-made pairs: one clean summary, one with a hedge, one with a cause the narrative never
    gives: each rate is 1/3, in evaluation_results.json, the per-example CSV and the page's headline."""
    import csv
    import json

    from crashtransformer.core.config import MetricSettings
    from crashtransformer.evaluate.command import HEADLINE, write_outputs
    from crashtransformer.evaluate.inputs import EvaluationPairs
    from crashtransformer.metrics.suite import score_pairs

    narrative = "Unit 2 was stopped at the light. Unit 1 failed to control speed and struck the back of Unit 2."
    predictions = ["Unit 1 failed to control speed and struck the back of Unit 2.",
                   "Unit 1 likely failed to control speed and struck Unit 2.",
                   f"Unit 1 ran the red light and struck Unit 2. {ATTACK}"]
    pairs = EvaluationPairs(["A", "B", "C"], predictions, [predictions[0]] * 3, [narrative] * 3)
    report = score_pairs(pairs.predictions, pairs.references, pairs.narratives,
                         options=MetricSettings(bertscore=False, similarity=False, bootstrap_samples=20))
    cfg = build_config(EvaluateConfig, {"output_dir": str(tmp_path), "plots": False})
    write_outputs(tmp_path, pairs, report, cfg, None, 0.5)
    results = json.loads((tmp_path / "evaluation_results.json").read_text(encoding="utf-8"))
    assert results["aggregates"]["unsupported_claim_rate"] == pytest.approx(1 / 3)
    assert results["aggregates"]["speculation_rate"] == pytest.approx(1 / 3)
    assert results["counts"]["unsupported_claim_rate"] == 3 and "claims" in results["settings"]
    assert HEADLINE[:2] == ("unsupported_claim_rate", "speculation_rate")
    rows = {r["Crash_ID"]: r for r in csv.DictReader((tmp_path / "evaluation_per_example.csv").open(encoding="utf-8"))}
    assert rows["A"]["unsupported_list"] == "" and rows["B"]["has_speculation"] == "1"
    assert rows["C"]["unsupported_list"].startswith("factor: ran the red light")

    page = (tmp_path / "evaluation_report.html").read_text(encoding="utf-8")
    headline = page[page.index('id="headline"'):page.index('id="glance"')]
    assert headline.count("33.3%") == 2 and "unsupported-claim rate" in headline and "speculation rate" in headline
    assert "share of 3 summaries" in headline and "95% CI" in headline
    claims = _section(page, "claims")
    assert re.findall(r"<h3>(\w) ", claims) == ["B", "C"]  # the clean one is not listed
    assert "hedge: likely (speculation" in claims
    assert "factor: ran the red light (the narrative gives no cue for &#39;disregarded traffic signal&#39;)" in claims
    _assert_safe(page)


def test_evaluation_headline_without_narratives_says_not_measured(tmp_path):
    results, per_example = _evaluation_inputs()
    page = write_evaluation_html(tmp_path, results, per_example, []).read_text(encoding="utf-8")
    headline = page[page.index('id="headline"'):page.index('id="glance"')]
    assert headline.count("not measured: the pairs carry no narratives") == 2
    assert "not checked: the pairs carry no narratives" in _section(page, "claims")


# ----------------------------------------------------------------------------- training


def _log_history(eval_metrics: dict) -> list[dict]:
    history = []
    for step in range(1, 11):
        history.append({"loss": 3.0 / step, "grad_norm": 1.0 + step / 10, "learning_rate": 5e-5 * (1 - step / 10),
                        "epoch": step / 5, "step": step})
        if step % 5 == 0:
            history.append({"eval_loss": 2.0 / step, "eval_runtime": 1.2, "eval_samples_per_second": 9.0,
                            **{f"eval_{k}": v for k, v in eval_metrics.items()}, "epoch": step / 5, "step": step})
    history[3]["grad_norm"] = math.nan  # a NaN step must not break the axes
    history.append({"train_runtime": 125.0, "train_loss": 1.1, "epoch": 2.0, "step": 10})
    return history


TASKS = {
    "seq2seq": {"rouge1_f1": 0.4321, "rougeL_f1": 0.3876},
    "classification": {"accuracy": 0.8125, "macro_f1": 0.7654},
    "tagging": {"precision": 0.6543, "recall": 0.5432, "f1": 0.5987},
}


def _training_results(task: str, log_history: list[dict]) -> dict:
    return {"model": "tiny-model", "model_type": "bart", "task": task,
            "data": {"training_file": "train.csv", "train_rows": 40, "validation_rows": 10},
            "run": {"optimizer_steps": 10, "planned_steps": 10, "epochs_run": 2.0, "wall_time_s": 3725.4,
                    "train_runtime_s": 125.0, "precision": "fp32", "peak_memory": {"cpu_rss_mb": 512}},
            "per_evaluation": evaluation_history(log_history),
            "metrics": {"loss": 0.2, **TASKS[task]},
            "confidence_intervals": {name: [value - 0.05, value + 0.05] for name, value in TASKS[task].items()}
            if task == "seq2seq" else {}}


@pytest.mark.parametrize("task", sorted(TASKS))
def test_training_page_shows_curves_evaluations_and_settings(tmp_path, task):
    log_history = _log_history(TASKS[task])
    config = {"task": task, "model_name": "tiny-model", "learning_rate": 5e-5, "num_epochs": 2, "fp16": False,
              "output_dir": str(tmp_path), "notes": ATTACK}
    path = write_training_html(tmp_path, log_history, config, _training_results(task, log_history))
    assert path == tmp_path / "training_report.html"
    page = path.read_text(encoding="utf-8")
    assert page.count("<svg") == 3 and page.count("<polyline") == 4  # train + validation loss, lr, grad norm
    for text in ("training loss", "validation loss", "learning rate", "gradient norm", "1 h 02 min 05 s",
                 "2 min 05 s", "tiny-model", "learning_rate", "5e-05", *TASKS[task]):
        assert text in page, text
    history = page[page.index('id="history"'):page.index('id="final"')]
    assert history.count("<tr>") == 3  # heading + two evaluations
    for value in TASKS[task].values():
        assert f"{value:.4f}" in history
    assert "runtime" not in history and "per_second" not in history
    _assert_safe(page)


def test_training_page_without_validation_or_logs(tmp_path):
    page = write_training_html(tmp_path, [], {"notes": ATTACK}, {"run": {}}).read_text(encoding="utf-8")
    assert "<svg" not in page and "no evaluation during training" in page and "no final validation" in page
    _assert_safe(page)


def test_save_run_files_writes_the_page(tmp_path):
    log_history = _log_history(TASKS["seq2seq"])
    saved = []

    def save_model(path: str) -> None:  # as the Trainer does: a folder holding the model
        saved.append(path)
        Path(path).mkdir(parents=True)
        (Path(path) / "config.json").write_text("{}", encoding="utf-8")

    trainer = SimpleNamespace(save_model=save_model, is_world_process_zero=lambda: True, args={"seed": 1},
                              state=SimpleNamespace(log_history=log_history))
    cfg = build_config(TrainConfig, {"model_name": "tiny-model", "output_dir": str(tmp_path), "num_epochs": 2})
    save_run_files(trainer, cfg, tmp_path, _training_results("seq2seq", log_history))
    page = (tmp_path / "training_report.html").read_text(encoding="utf-8")
    assert saved and "<svg" in page and "num_beams" in page and "tiny-model" in page
    # written aside, then renamed into place whole
    assert (tmp_path / "final_model" / "config.json").is_file() and not (tmp_path / "final_model.partial").exists()
