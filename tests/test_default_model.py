"""The shipped default model: it loads offline in fp32, and `run` with no --model uses it."""

from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path

import pytest

from conftest import REPO, run_cli
from crashtransformer.run.artifacts import GRAPHS, METRICS, REJECTS, REPORT, SUMMARIES, read_csv_rows
from crashtransformer.run.pipeline import DEFAULT_MODEL_DIR

SAMPLE = REPO / "data" / "sample_crashes.csv"
MAX_SHIPPED_BYTES = 25 * 1024 * 1024  # the budget for a model committed to the repository


@pytest.fixture(scope="module")
def shipped_model() -> Path:
    if not (DEFAULT_MODEL_DIR / "model.safetensors").is_file():
        pytest.skip(f"the shipped default model is absent ({DEFAULT_MODEL_DIR}); "
                    "retrain it with the commands in docs/default-model.md")
    return DEFAULT_MODEL_DIR


def _first_rows(count: int, target: Path) -> Path:
    """The header and the first `count` crashes of the sample file (narratives span lines)."""
    with open(SAMPLE, encoding="utf-8", newline="") as handle:
        rows = list(itertools.islice(csv.reader(handle), count + 1))
    with open(target, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return target


def test_model_directory_is_complete_and_within_budget(shipped_model):
    for name in ("config.json", "model.safetensors", "generation_config.json", "README.md", "provenance.json"):
        assert (shipped_model / name).is_file(), name
    assert any((shipped_model / name).is_file() for name in ("tokenizer.json", "vocab.json"))
    weights = sum(f.stat().st_size for f in shipped_model.iterdir() if f.is_file())
    assert weights < MAX_SHIPPED_BYTES, f"{weights / 1e6:.1f} MB"


def test_loads_in_fp32_and_writes_a_plan_conditioned_summary(shipped_model):
    import torch

    from crashtransformer.models.loading import load_model, load_tokenizer
    from crashtransformer.plan.graph import extract_plan_lines
    from crashtransformer.plan.prompt import build_model_input, model_family

    model, tokenizer = load_model(str(shipped_model)), load_tokenizer(str(shipped_model))
    assert model.dtype == torch.float32  # fp16 on disk, upcast on load: CPUs run fp32
    narrative = ("unit 1 was traveling north on main st behind unit 2. unit 2 slowed for traffic. "
                 "unit 1 failed to control speed and struck the back of unit 2.")
    prompt = build_model_input(narrative, extract_plan_lines(narrative), tokenizer, model_family(model), 160, False)
    encoded = tokenizer(prompt.text, return_tensors="pt")
    with torch.no_grad():
        output = model.generate(**encoded, num_beams=1, max_new_tokens=48)
    summary = tokenizer.decode(output[0], skip_special_tokens=True)
    assert torch.isfinite(model.get_input_embeddings().weight).all()
    assert len(summary.split()) >= 5, summary
    assert "unit 1" in summary.lower() and "speed" in summary.lower(), summary


def test_run_without_model_uses_the_shipped_model(shipped_model, tmp_path):
    crashes = _first_rows(4, tmp_path / "five.csv")
    with open(crashes, encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    long_narrative = "unit 1 failed to control speed and struck unit 2. " * 60  # ~720 tokens: past the 256 positions
    with open(crashes, "a", encoding="utf-8", newline="") as handle:
        csv.DictWriter(handle, header, restval="").writerow({"Narrative": long_narrative, "Crash_ID": "LONG-1"})
    out = tmp_path / "out"
    result = run_cli("run", "--csv", str(crashes), "--out_dir", str(out), "--num_beams", "1",
                     "--num_candidates", "1", "--max_new_tokens", "32", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for name in (GRAPHS, SUMMARIES, METRICS, REJECTS, REPORT):
        assert (out / name).is_file(), name
    report = json.loads((out / REPORT).read_text(encoding="utf-8"))
    assert Path(report["model"]["directory"]).resolve() == shipped_model.resolve()
    provenance = report["model"]["provenance"]  # how it was made, from provenance.json
    assert provenance["init_model"]["encoder_init"] and provenance["stages"][0]["train_rows"] > 1000
    log_text = "".join(p.read_text() for p in (tmp_path / "logs").glob("*.log"))
    assert f"using the shipped default model at {DEFAULT_MODEL_DIR}" in log_text and "packaged" in log_text
    summaries = [json.loads(line)["best_summary"] for line in (out / SUMMARIES).read_text().splitlines()]
    assert len(summaries) == 5 and all(s.strip() for s in summaries)
    assert len(read_csv_rows(out / METRICS)) == 5
