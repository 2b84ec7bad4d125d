"""Damaged model folders through every command that reads one: one line naming the file, exit 2.

A nightly job meets models copied half-way (a full disk, a killed rsync), config files edited by
hand, tokenizers cut short and classifiers passed where a summarizer belongs. Each case here must
be one console line `error: ...` that names the damaged file and says what is wrong with it; no
traceback; and `run` must leave nothing in its --out_dir that a rerun with a good model would
trip over (the rerun ends with every Crash_ID exactly once).
"""

from __future__ import annotations

import json
import os
import shutil
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from faults.conftest import FAST, invoke, read_jsonl_strict
from faults.corpus import good_csv

TRAIN_FLAGS = ("--num_epochs", "1", "--max_steps", "1", "--report_to", "none", "--no_model_metrics")
EVALUATE_FLAGS = ("--no_bertscore", "--no_similarity", "--no_plots", "--bootstrap_samples", "0")
RUN, RUN_CT2, EVALUATE, TRAIN, EXPORT = "run", "run-ctranslate2", "evaluate", "train", "export"
ARTIFACTS = ("crash_summaries.jsonl", "crash_graphs.jsonl", "summaries_metrics.csv", "rejects.csv", "run_report.json")


@dataclass(frozen=True)
class Damage:
    name: str
    make: Callable[[Path], None]  # damages a copy of a good model in place
    file: str  # the file the message must name
    says: str  # what the message must say is wrong with it


# ----------------------------------------------------------------------------- damages


def _weights(model: Path) -> Path:
    return model / "model.safetensors"


def truncated_weights(model: Path) -> None:
    weights = _weights(model)
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])


def garbage_weights_header(model: Path) -> None:
    # a header length far past the end of the file, then noise: what a disk error leaves
    _weights(model).write_bytes(struct.pack("<Q", 1 << 40) + os.urandom(4096))


def zero_byte_weights(model: Path) -> None:
    _weights(model).write_bytes(b"")


def truncated_config(model: Path) -> None:
    config = model / "config.json"
    config.write_text(config.read_text(encoding="utf-8")[:40], encoding="utf-8")


def garbage_config(model: Path) -> None:
    (model / "config.json").write_bytes(b"\x00\x13garbage \xff\xfe not json at all")


def list_config(model: Path) -> None:
    (model / "config.json").write_text('[{"model_type": "bart"}]\n', encoding="utf-8")


def missing_tokenizer(model: Path) -> None:
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json"):
        (model / name).unlink(missing_ok=True)


def truncated_tokenizer(model: Path) -> None:
    tokenizer = model / "tokenizer.json"
    tokenizer.write_text(tokenizer.read_text(encoding="utf-8")[:500], encoding="utf-8")


DAMAGES = [
    Damage("truncated_weights", truncated_weights, "model.safetensors", "is truncated or corrupt (its tensors need"),
    Damage("garbage_weights_header", garbage_weights_header, "model.safetensors",
           "is truncated or corrupt (its header"),
    Damage("zero_byte_weights", zero_byte_weights, "model.safetensors",
           "is truncated or corrupt (the file is empty, 0 bytes)"),
    Damage("truncated_config", truncated_config, "config.json",
           "is not valid JSON (line 3 column 3): Unterminated string starting at "
           "(the file ends there: it was cut short)"),
    Damage("garbage_config", garbage_config, "config.json", "is not valid JSON (line 1 column"),
    Damage("list_config", list_config, "config.json", "holds a JSON list, not a JSON object"),
    Damage("missing_tokenizer", missing_tokenizer, "", "has no tokenizer"),
    Damage("truncated_tokenizer", truncated_tokenizer, "tokenizer.json", "is not valid JSON (line"),
]
COMMANDS = (RUN, EVALUATE, TRAIN, EXPORT)


def _argv(command: str, model: Path, data: Path, out: Path) -> list[str]:
    if command in (RUN, RUN_CT2):
        backend = ["--backend", "ctranslate2"] if command == RUN_CT2 else []
        return ["run", "--csv", str(data), "--model", str(model), "--out_dir", str(out), *backend, *FAST]
    if command == EVALUATE:
        return ["evaluate", "--model", str(model), "--data", str(data), "--output_dir", str(out), *EVALUATE_FLAGS,
                *FAST]
    if command == TRAIN:
        return ["train", "--training_data", str(data), "--model_name", str(model), "--output_dir", str(out),
                *TRAIN_FLAGS]
    return ["export", "--model", str(model), "--output", str(out / "exported"), "--quantization", "float32"]


def _assert_one_line(result, *needles: str) -> str:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr[-3000:]
    assert result.exit_code == 2, result.stderr[-3000:]
    lines = result.console_lines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _assert_no_half_artifacts(out: Path) -> None:
    """A refused model left no summary, graph, metric row, reject or report (a CSV's header at most)."""
    assert not (out / "run_report.json").exists()
    for name in ARTIFACTS[:4]:
        path = out / name
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        assert len(lines) <= (1 if name.endswith(".csv") else 0), f"{name} written by a run that never loaded its model"


@pytest.fixture
def data(tmp_path) -> Path:
    return good_csv(tmp_path, "crashes.csv")


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("damage", DAMAGES, ids=[d.name for d in DAMAGES])
def test_damaged_model_is_one_line_naming_the_file(damage: Damage, command: str, tmp_path, good_model, data):
    model = tmp_path / "model"
    shutil.copytree(good_model, model)
    damage.make(model)
    out = tmp_path / "out"
    result = invoke(*_argv(command, model, data, out), cwd=tmp_path)
    message = _assert_one_line(result, damage.says, str(model / damage.file) if damage.file else str(model))
    if command == RUN:  # refused before the lock, model.json or any artifact
        assert not out.exists() or list(out.iterdir()) == [], sorted(p.name for p in out.iterdir())
    if command == EXPORT:
        assert not (out / "exported").exists(), message


@pytest.mark.parametrize("damage", [d for d in DAMAGES if d.name in ("truncated_weights", "truncated_config",
                                                                      "truncated_tokenizer")],
                         ids=lambda d: d.name)
def test_rerun_with_the_model_repaired_summarizes_every_crash_once(damage: Damage, tmp_path, good_model, data):
    model = tmp_path / "model"
    shutil.copytree(good_model, model)
    damage.make(model)
    out = tmp_path / "out"
    _assert_one_line(invoke(*_argv(RUN, model, data, out), cwd=tmp_path), damage.says)
    shutil.rmtree(model)
    shutil.copytree(good_model, model)  # the model copied again, whole
    result = invoke(*_argv(RUN, model, data, out), cwd=tmp_path)
    assert result.exit_code == 0, result.stderr[-3000:]
    ids = [row["Crash_ID"] for row in read_jsonl_strict(out / "crash_summaries.jsonl")]
    assert sorted(ids) == ["C1", "C2"]


# ----------------------------------------------------------------------------- a classifier where a summarizer belongs


def _bart_classifier(good_model: Path, target: Path) -> Path:
    from transformers import BartForSequenceClassification

    model = BartForSequenceClassification.from_pretrained(good_model, num_labels=3)
    model.save_pretrained(target)
    for path in good_model.iterdir():
        if path.name.startswith(("tokenizer", "vocab", "merges", "special_tokens")):
            shutil.copy2(path, target / path.name)
    return target


def _bert_classifier(tiny_encoder: Path, target: Path) -> Path:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    AutoModelForSequenceClassification.from_pretrained(tiny_encoder, num_labels=3).save_pretrained(target)
    AutoTokenizer.from_pretrained(tiny_encoder).save_pretrained(target)
    return target


CLASSIFIERS = {"bart": ("BartForSequenceClassification", _bart_classifier),
               "bert": ("BertForSequenceClassification", _bert_classifier)}


@pytest.mark.parametrize("command", (RUN_CT2, EVALUATE, TRAIN, EXPORT))
@pytest.mark.parametrize("family", sorted(CLASSIFIERS))
def test_a_classifier_where_a_summarizer_belongs(family: str, command: str, tmp_path, good_model, tiny_encoder, data):
    architecture, build = CLASSIFIERS[family]
    model = build(good_model if family == "bart" else tiny_encoder, tmp_path / "classifier")
    out = tmp_path / "out"
    result = invoke(*_argv(command, model, data, out), cwd=tmp_path)
    _assert_one_line(result, str(model), f"holds a sequence-classification model (architectures: {architecture}), "
                                         "not a seq2seq model")
    if command == RUN_CT2:  # refused before the lock: not even a header or a lock file is left
        assert not out.exists() or not any(out.iterdir()), sorted(p.name for p in out.iterdir())


@pytest.mark.parametrize("damage", ["model.bin", "model.bin flipped", "export_manifest.json", "hf/config.json"])
def test_a_damaged_ctranslate2_export_is_one_line(damage: str, tmp_path, good_model, data, monkeypatch):
    from crashtransformer.infer.backends import cached_conversion

    monkeypatch.setenv("CRASHTRANSFORMER_CACHE", str(tmp_path / "cache"))
    export = tmp_path / "export"
    shutil.copytree(cached_conversion(str(good_model)), export)
    damaged = export / damage.split()[0]
    if damage == "model.bin":
        damaged.write_bytes(damaged.read_bytes()[:1000])
    elif damage == "model.bin flipped":  # same size: only the recorded SHA-256 tells
        weights = bytearray(damaged.read_bytes())
        weights[-100] ^= 0x01
        damaged.write_bytes(bytes(weights))
    else:
        damaged.unlink()
    says = {"model.bin": "model.bin holds 1000 bytes", "model.bin flipped": "model.bin has SHA-256 "}.get(
        damage, f"{damage} is missing")
    result = invoke(*_argv(RUN_CT2, export, data, tmp_path / "out"), cwd=tmp_path)
    _assert_one_line(result, f"{export} is a damaged CTranslate2 export ({says}")


def test_a_good_model_still_runs(tmp_path, good_model, data):
    """The checks refuse damage, not health: the same commands on the good model pass."""
    result = invoke(*_argv(RUN, good_model, data, tmp_path / "out"), cwd=tmp_path)
    assert result.exit_code == 0, result.stderr[-3000:]
    assert json.loads((tmp_path / "out" / "run_report.json").read_text())["counts"]["summarized"] == 2


@pytest.mark.parametrize("damage", ["cut", "garbage"])
def test_a_damaged_sentencepiece_file_is_named(damage: str, tmp_path):
    """T5 and Pegasus keep their tokenizer in spiece.model, a binary protobuf: a damaged one is
    named, where the tokenizer's loader would fail naming no file."""
    sentencepiece = pytest.importorskip("sentencepiece", reason="sentencepiece is not installed")
    from crashtransformer.core.errors import UserError
    from crashtransformer.models.integrity import check_model_files

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(f"unit {n} struck the pole near the road at night\n" for n in range(200)))
    model = tmp_path / "t5"
    model.mkdir()
    sentencepiece.SentencePieceTrainer.train(input=str(corpus), model_prefix=str(model / "spiece"), vocab_size=40,
                                             minloglevel=2)
    (model / "config.json").write_text(json.dumps({"model_type": "t5"}))
    check_model_files(model, needs_tokenizer=True)  # whole: passes
    spiece = model / "spiece.model"
    data = spiece.read_bytes()
    spiece.write_bytes(data[: len(data) // 2] if damage == "cut" else b"\x00not a model" * 20)
    with pytest.raises(UserError, match=f"{spiece} is not a SentencePiece model that loads"):
        check_model_files(model, needs_tokenizer=True)
