"""`run --backend auto`: CTranslate2 on a CPU through a cached float32 conversion, torch otherwise."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
import pytest

from conftest import run_cli
from crashtransformer.infer import backends
from crashtransformer.core.config import ModelLoading
from crashtransformer.infer.backends import cached_conversion, choose_backend, model_fingerprint
from crashtransformer.run.artifacts import REPORT, SUMMARIES

pytest.importorskip("ctranslate2")

GREEDY = ("--num_beams", "1", "--num_candidates", "1", "--num_samples", "0", "--max_new_tokens", "12")


SAFE = ModelLoading()


def _crashes(path: Path, rows: int = 10) -> Path:
    from crashtransformer.prepare.synthetic.generator import generate_records
    from crashtransformer.data.writers import write_records

    write_records(generate_records(rows, seed=21), path)
    return path


def _summaries(out: Path) -> dict[str, str]:
    rows = [json.loads(line) for line in (out / SUMMARIES).read_text().splitlines()]
    return {row["Crash_ID"]: row["best_summary"] for row in rows}


def test_auto_on_cpu_converts_once_and_decodes_greedily_as_torch_does(tmp_path, tiny_bart):
    data, cache = _crashes(tmp_path / "crashes.csv"), tmp_path / "cache"
    common = ("run", "--csv", str(data), "--model", str(tiny_bart), "--device", "cpu", *GREEDY)

    def run(out: str, *more: str):
        return run_cli(*common, *more, "--out_dir", str(tmp_path / out), cwd=tmp_path,
                       env={"CRASHTRANSFORMER_CACHE": str(cache)})

    first = run("auto")
    assert first.returncode == 0, first.stderr
    assert "converting" in first.stderr and "backend ctranslate2 (auto" in first.stderr
    again = run("auto-again")
    assert again.returncode == 0 and "(cached)" in again.stderr and "converting" not in again.stderr
    torch = run("torch", "--backend", "torch")
    assert torch.returncode == 0, torch.stderr

    report = json.loads((tmp_path / "auto" / REPORT).read_text())["model"]
    assert report["backend"] == "ctranslate2" and report["quantization"] == "float32"
    assert report["directory"] == str(tiny_bart) and report["backend_reason"].startswith("auto")
    assert json.loads((tmp_path / "torch" / REPORT).read_text())["model"]["backend"] == "torch"
    assert _summaries(tmp_path / "auto") == _summaries(tmp_path / "torch")  # float32 weights: the same greedy text
    assert [p.name for p in (cache / "ctranslate2").iterdir() if p.is_dir()] == [
        f"{model_fingerprint(tiny_bart)}-float32"]


def test_auto_keeps_torch_where_ctranslate2_cannot_serve(tiny_bart, tmp_path, monkeypatch):
    assert choose_backend("auto", str(tiny_bart), "cuda:0", SAFE).name == "torch"
    assert choose_backend("torch", str(tiny_bart), "cpu", SAFE).reason == "asked for"
    remote = ModelLoading(trust_remote_code=True)
    assert "--trust_remote_code" in choose_backend("auto", str(tiny_bart), "cpu", remote).reason
    assert "not a local directory" in choose_backend("auto", "someone/some-model", "cpu", SAFE).reason

    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "ctranslate2" else real_find_spec(name, *a))
    assert "not installed" in choose_backend("auto", str(tiny_bart), "cpu", SAFE).reason


def test_auto_keeps_torch_for_families_ctranslate2_does_not_convert(tmp_path, corpus_file):
    from crashtransformer.data.corpus import read_corpus_texts
    from crashtransformer.models.building import build_encoder

    encoder = build_encoder(read_corpus_texts([str(corpus_file)]), tmp_path / "encoder", vocab_size=300)
    choice = choose_backend("auto", str(encoder), "cpu", SAFE)
    assert choice.name == "torch" and "does not convert" in choice.reason


@pytest.mark.parametrize("error, says", [
    (ValueError("Unsupported model layout"), "converter does not support this model"),
    (OSError(28, "No space left on device"), "cannot be written (No space left on device)"),
    (OSError(2, "No such file or directory", "/elsewhere/tokenizer.json"), "a file could not be read or written"),
])
def test_a_conversion_failing_for_a_named_cause_falls_back_to_torch_saying_which(tiny_bart, tmp_path, monkeypatch,
                                                                                  caplog, error, says):
    monkeypatch.setenv("CRASHTRANSFORMER_CACHE", str(tmp_path / "cache"))

    def broken(*args, **kwargs):
        raise error

    monkeypatch.setattr("crashtransformer.infer.export.export_model", broken)
    choice = choose_backend("auto", str(tiny_bart), "cpu", SAFE)
    assert choice.name == "torch" and choice.model_dir == str(tiny_bart)
    assert "conversion failed" in choice.reason and says in choice.reason and says in caplog.text


def test_an_unexpected_conversion_error_is_not_hidden_behind_a_fallback(tiny_bart, tmp_path, monkeypatch):
    monkeypatch.setenv("CRASHTRANSFORMER_CACHE", str(tmp_path / "cache"))

    def broken(*args, **kwargs):
        raise RuntimeError("converter exploded")

    monkeypatch.setattr("crashtransformer.infer.export.export_model", broken)
    with pytest.raises(RuntimeError, match="converter exploded"):
        choose_backend("auto", str(tiny_bart), "cpu", SAFE)


def test_the_fingerprint_follows_the_weights(tmp_path, tiny_bart):
    import os
    import shutil

    copy = Path(shutil.copytree(tiny_bart, tmp_path / "model"))
    before = model_fingerprint(copy)
    assert model_fingerprint(copy) == before
    weights = copy / "model.safetensors"
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # rewritten, same size
    touched = model_fingerprint(copy)
    assert touched != before
    weights.write_bytes(weights.read_bytes() + b" ")  # a retrained model: another size
    assert model_fingerprint(copy) not in (before, touched)


def test_the_cache_lives_where_the_environment_says(tmp_path, monkeypatch):
    monkeypatch.setenv("CRASHTRANSFORMER_CACHE", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert backends.cache_root() == tmp_path / "explicit"
    monkeypatch.delenv("CRASHTRANSFORMER_CACHE")
    assert backends.cache_root() == tmp_path / "xdg" / "crashtransformer"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert backends.cache_root() == tmp_path / "home" / ".cache" / "crashtransformer"


def test_launchers_share_the_cores(tiny_bart, tmp_path, monkeypatch):
    """OMP_NUM_THREADS (set by torchrun / accelerate per rank) caps CTranslate2's workers."""
    from crashtransformer.infer.ctranslate2 import cpu_threads, load_ctranslate2_model

    monkeypatch.setenv("CRASHTRANSFORMER_CACHE", str(tmp_path / "cache"))
    export = cached_conversion(str(tiny_bart))
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    model, _ = load_ctranslate2_model(str(export), "cpu")
    assert cpu_threads() <= 2 and model.translator.num_translators == cpu_threads()
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert cpu_threads() == 1


def test_concurrent_runs_convert_a_model_once(tiny_bart, tmp_path, monkeypatch):
    """Two ranks (here threads: flock locks separate opens alike) ask for one model at once."""
    monkeypatch.setenv("CRASHTRANSFORMER_CACHE", str(tmp_path / "cache"))
    from crashtransformer.infer import export

    real_export, calls = export.export_model, []

    def slow_export(cfg):
        calls.append(cfg.output)
        time.sleep(0.5)  # long enough for the other thread to reach the lock
        return real_export(cfg)

    monkeypatch.setattr(export, "export_model", slow_export)
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(cached_conversion(str(tiny_bart)))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1 and len(results) == 2 and results[0] == results[1]
    assert (results[0] / "model.bin").is_file() and results[0].parent.parent == tmp_path / "cache"
