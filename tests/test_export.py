"""`export` to CTranslate2 and `run --backend ctranslate2`: files, agreement with torch, errors."""

from __future__ import annotations

import copy
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from crashtransformer.core.config import ExportConfig

from conftest import REPO, _mini_corpus, run_cli
from crashtransformer.core.errors import UserError
from crashtransformer.run.artifacts import METRICS, REPORT, SUMMARIES

pytest.importorskip("ctranslate2")

PLANS = [["1) failed to control speed -> rear-end collision"], ["1) failed to yield right of way -> angle collision"],
         []]


def _export(model: Path, out: Path, quantization: str = "float32") -> Path:
    from crashtransformer.infer.export import export_model

    cfg = ExportConfig(model=str(model), output=str(out), quantization=quantization)
    return export_model(cfg)


@pytest.fixture(scope="module")
def bart_export(tmp_path_factory, tiny_bart) -> Path:
    return _export(tiny_bart, tmp_path_factory.mktemp("export") / "bart-f32")


def _keys(value, prefix: str = "") -> set[str]:
    """Every key path of a JSON object (list items merged), for comparing shapes."""
    keys: set[str] = set()
    items = value.items() if isinstance(value, dict) else []
    for key, child in items:
        keys.add(prefix + key)
        children = child if isinstance(child, list) else [child]
        for item in children:
            if isinstance(item, dict):
                keys |= _keys(item, f"{prefix}{key}.")
    return keys


# ----------------------------------------------------------------------------- export


def test_export_writes_model_tokenizer_and_manifest(tmp_path, tiny_bart):
    out = tmp_path / "exports" / "bart-int8"
    result = run_cli("export", "--model", str(tiny_bart), "--output", str(out), "--quantization", "int8",
                     cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert {"model.bin", "config.json", "shared_vocabulary.json", "export_manifest.json"} <= {
        p.name for p in out.iterdir()}
    assert {"config.json", "generation_config.json", "tokenizer_config.json"} <= {p.name for p in (out / "hf").iterdir()}
    manifest = json.loads((out / "export_manifest.json").read_text())
    assert manifest["quantization"] == "int8" and manifest["model_type"] == "bart"
    assert manifest["source_model"] == str(tiny_bart.resolve())
    sizes = manifest["sizes_bytes"]
    assert 0 < sizes["exported_weights"] < sizes["source_weights"]  # int8 weights are smaller than float32
    assert {"ctranslate2", "transformers"} <= set(manifest["versions"])
    assert [p.name for p in out.parent.iterdir()] == ["bart-int8"]  # no temporary directory left behind

    again = run_cli("export", "--model", str(tiny_bart), "--output", str(out), cwd=tmp_path)
    assert again.returncode == 2 and "--overwrite" in again.stderr
    replaced = run_cli("export", "--model", str(tiny_bart), "--output", str(out), "--quantization", "float32",
                       "--overwrite", cwd=tmp_path)
    assert replaced.returncode == 0, replaced.stderr
    assert json.loads((out / "export_manifest.json").read_text())["quantization"] == "float32"


def test_export_refuses_a_model_ctranslate2_cannot_convert(tmp_path):
    import transformers

    from crashtransformer.infer.export import export_model

    config = transformers.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=1,
                                     intermediate_size=16, num_labels=2)
    transformers.BertForSequenceClassification(config).save_pretrained(tmp_path / "classifier")
    cfg = ExportConfig(model=str(tmp_path / "classifier"), output=str(tmp_path / "out"), quantization="int8")
    with pytest.raises(UserError, match="cannot export model_type 'bert'.*--backend torch"):
        export_model(cfg)
    assert not (tmp_path / "out").exists()


def test_without_ctranslate2_export_and_run_say_how_to_install(tmp_path, tiny_bart, bart_export):
    hide = "import sys; sys.modules['ctranslate2'] = None; from crashtransformer.cli import main; main()"
    crashes = tmp_path / "crashes.csv"
    crashes.write_text("Crash_ID,Narrative\n1,Unit 1 struck Unit 2.\n", encoding="utf-8")
    for args in (["export", "--model", str(tiny_bart), "--output", str(tmp_path / "x")],
                 ["run", "--csv", str(crashes), "--model", str(bart_export), "--backend", "ctranslate2",
                  "--out_dir", str(tmp_path / "out")]):
        done = subprocess.run([sys.executable, "-c", hide, *args], cwd=tmp_path, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
        assert done.returncode == 2, done.stderr
        assert "pip install" in done.stderr and "ctranslate2" in done.stderr and "Traceback" not in done.stderr


# ----------------------------------------------------------------------------- agreement


def _inputs(model_dir: Path, count: int = 200) -> list[list[int]]:
    from crashtransformer.models.loading import load_config, load_tokenizer
    from crashtransformer.plan.prompt import build_model_input, model_family

    tokenizer, family = load_tokenizer(str(model_dir)), model_family(load_config(str(model_dir)))
    texts = _mini_corpus()[:count]
    return [build_model_input(text, PLANS[i % len(PLANS)], tokenizer, family, 128).input_ids
            for i, text in enumerate(texts)]


@pytest.mark.parametrize("arch", ["bart", "t5", "pegasus"])
def test_float32_export_greedy_outputs_equal_torch(arch, tmp_path, request):
    """>= 99% identical strings, and the same mean log-probabilities, on 200 prompts."""
    from crashtransformer.infer.generation import TorchGenerator, generate_with_backend
    from crashtransformer.infer.ctranslate2 import CTranslate2Generator, load_ctranslate2_model
    from crashtransformer.models.loading import load_model, load_tokenizer

    source = request.getfixturevalue(f"tiny_{arch}")
    model, tokenizer = load_model(str(source)), load_tokenizer(str(source))
    exported, exported_tokenizer = load_ctranslate2_model(str(_export(source, tmp_path / "f32")))
    greedy = copy.deepcopy(model.generation_config)
    greedy.update(num_beams=1, max_new_tokens=12, min_new_tokens=4, no_repeat_ngram_size=0,  # 4: no empty text
                  bad_words_ids=[[tokenizer.pad_token_id]])  # an untrained T5 would emit only <pad>
    inputs = _inputs(source)
    ours = generate_with_backend(TorchGenerator(model, tokenizer, greedy, score=True), inputs, 8)
    theirs = generate_with_backend(CTranslate2Generator(exported, exported_tokenizer, greedy, score=True), inputs, 8)
    pairs = [(a[0], b[0]) for a, b in zip(ours, theirs)]
    assert sum(a.text == b.text for a, b in pairs) >= 0.99 * len(inputs)
    assert sum(bool(a.text) for a, _ in pairs) >= 0.9 * len(inputs)  # real text was compared
    # CTranslate2's scores come from its own search, under the decoding constraints (BART's forced
    # first token, the suppressed pad), torch's from the raw model: shifted, but they order the
    # candidates alike, which is all a tie-breaker needs
    same = np.array([(a.score, b.score) for a, b in pairs if a.text == b.text])
    assert (same[:, 1] <= 0).all() and np.corrcoef(same.T)[0, 1] > 0.98


# ----------------------------------------------------------------------------- run


def _crashes(path: Path, count: int) -> Path:
    from crashtransformer.prepare.synthetic.generator import generate_records
    from crashtransformer.data.writers import write_records

    write_records(list(generate_records(count, seed=17)), path)
    return path


def test_run_with_ctranslate2_writes_the_torch_runs_artifacts(tmp_path, tiny_bart, bart_export):
    data = _crashes(tmp_path / "crashes.csv", 24)
    common = ("--csv", str(data), "--num_beams", "1", "--num_candidates", "1", "--num_samples", "0",
              "--max_new_tokens", "10", "--chunk_size", "10")
    torch_out, ct2_out = tmp_path / "torch", tmp_path / "ct2"
    assert run_cli("run", *common, "--model", str(tiny_bart), "--backend", "torch", "--out_dir", str(torch_out),
                   cwd=tmp_path).returncode == 0
    done = run_cli("run", *common, "--model", str(bart_export), "--backend", "ctranslate2", "--out_dir", str(ct2_out),
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr

    assert sorted(p.name for p in torch_out.iterdir()) == sorted(p.name for p in ct2_out.iterdir())
    rows = {name: [json.loads(line) for line in (name / SUMMARIES).read_text().splitlines()]
            for name in (torch_out, ct2_out)}
    assert [r["Crash_ID"] for r in rows[torch_out]] == [r["Crash_ID"] for r in rows[ct2_out]]
    assert _keys(rows[torch_out][0]) == _keys(rows[ct2_out][0])
    same = sum(a["best_summary"] == b["best_summary"] for a, b in zip(rows[torch_out], rows[ct2_out]))
    assert same >= 0.95 * 24
    headers = [next(csv.reader(open(d / METRICS, encoding="utf-8"))) for d in (torch_out, ct2_out)]
    assert headers[0] == headers[1]
    reports = [json.loads((d / REPORT).read_text()) for d in (torch_out, ct2_out)]
    assert _keys(reports[0]) == _keys(reports[1])
    assert reports[1]["model"]["backend"] == "ctranslate2" and reports[1]["model"]["quantization"] == "float32"
    assert reports[0]["model"]["backend"] == "torch" and reports[1]["model"]["model_type"] == "bart"
    assert reports[1]["model"]["parameters"] == reports[0]["model"]["parameters"]

    rerun = run_cli("run", *common, "--model", str(bart_export), "--backend", "ctranslate2", "--out_dir",
                    str(ct2_out), cwd=tmp_path)  # the same resume ledger: nothing is done twice
    assert rerun.returncode == 0 and len((ct2_out / SUMMARIES).read_text().splitlines()) == 24


def test_run_names_the_right_backend_for_each_kind_of_model(tmp_path, tiny_bart, bart_export):
    data = _crashes(tmp_path / "crashes.csv", 2)
    torch_on_export = run_cli("run", "--csv", str(data), "--model", str(bart_export), "--backend", "torch",
                              "--out_dir", str(tmp_path / "a"), cwd=tmp_path)
    assert torch_on_export.returncode == 2 and "--backend ctranslate2" in torch_on_export.stderr
    auto_on_export = run_cli("run", "--csv", str(data), "--model", str(bart_export), "--out_dir",
                             str(tmp_path / "auto"), cwd=tmp_path)  # auto knows an export when it sees one
    assert auto_on_export.returncode == 0, auto_on_export.stderr
    assert json.loads((tmp_path / "auto" / REPORT).read_text())["model"]["backend"] == "ctranslate2"
    ct2_on_torch = run_cli("run", "--csv", str(data), "--model", str(tiny_bart), "--backend", "ctranslate2",
                           "--out_dir", str(tmp_path / "b"), cwd=tmp_path)
    assert ct2_on_torch.returncode == 2 and "crashtransformer.py export" in ct2_on_torch.stderr


def test_samples_from_an_export_come_from_its_source_model(tmp_path, tiny_bart, bart_export):
    """CTranslate2 cannot seed each crash's samples, so torch draws them from the export's source
    model; an export whose source is gone says so and names --num_samples 0."""
    data = _crashes(tmp_path / "crashes.csv", 6)
    common = ("--csv", str(data), "--num_beams", "1", "--num_candidates", "1", "--num_samples", "2",
              "--max_new_tokens", "8", "--backend", "ctranslate2")
    done = run_cli("run", *common, "--model", str(bart_export), "--out_dir", str(tmp_path / "a"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in (tmp_path / "a" / SUMMARIES).read_text().splitlines()]
    assert all(len(row["candidates"]) == 3 for row in rows)

    orphan = tmp_path / "orphan-export"
    shutil.copytree(bart_export, orphan)
    manifest = json.loads((orphan / "export_manifest.json").read_text())
    (orphan / "export_manifest.json").write_text(json.dumps({**manifest, "source_model": str(tmp_path / "gone")}))
    refused = run_cli("run", *common, "--model", str(orphan), "--out_dir", str(tmp_path / "b"), cwd=tmp_path)
    assert refused.returncode == 2 and "--num_samples 0" in refused.stderr
