"""The base: CLI entry points, errors and exit codes, logging, configs, model loading, init-model."""

from __future__ import annotations

import dataclasses
import io
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import REPO, run_cli
from crashtransformer.core.config import resolve_config
from crashtransformer.core.fields import arg
from crashtransformer.core.errors import UserError
from crashtransformer.core.logs import log, setup_logging


def test_help_lists_subcommands_with_descriptions():
    result = run_cli("--help", check=True)
    assert "init-model" in result.stdout
    assert "Build a new small" in result.stdout


def test_module_and_console_script_entry_points():
    by_module = subprocess.run([sys.executable, "-m", "crashtransformer", "--help"],
                               capture_output=True, text=True, cwd=REPO)
    assert by_module.returncode == 0 and "init-model" in by_module.stdout
    script = shutil.which("crashtransformer", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("package not installed with pip (make install does it); console script absent")
    by_script = subprocess.run([script, "--help"], capture_output=True, text=True)
    assert by_script.returncode == 0 and "init-model" in by_script.stdout


def test_dashed_and_underscored_flags_are_the_same_option(tmp_path, corpus_file):
    out = tmp_path / "m"
    result = run_cli("--log-dir", str(tmp_path / "logs"), "init-model", "--corpus", str(corpus_file),
                     "--output", str(out), "--vocab-size", "500", cwd=tmp_path, check=True)
    assert (out / "config.json").is_file(), result.stderr


@pytest.mark.parametrize("arch", ["bart", "t5", "pegasus"])
def test_init_model_loads_back_with_auto_classes_and_generates(arch, request):
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    model_dir = request.getfixturevalue(f"tiny_{arch}")
    assert (model_dir / "model.safetensors").is_file()
    assert (model_dir / "generation_config.json").is_file()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSeq2SeqLM.from_pretrained(model_dir)
    text = "Unit 1 failed to control speed and struck Unit 2."
    encoded = tokenizer([text], return_tensors="pt")
    assert tokenizer.decode(encoded.input_ids[0], skip_special_tokens=True) == text
    output = model.generate(**encoded, max_new_tokens=4, num_beams=1)
    assert output.shape[0] == 1 and 1 < output.shape[1] <= 6


def test_init_model_warm_starts_bart_from_a_bert_encoder(tmp_path, corpus_file, tiny_encoder):
    """The BART encoder is the BERT's first layers exactly, the decoder starts from them too."""
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer, BertModel

    out = tmp_path / "warm"
    run_cli("init-model", "--corpus", str(corpus_file), "--output", str(out), "--vocab_size", "600",
            "--encoder_init", str(tiny_encoder), "--encoder_layers", "2", "--decoder_layers", "1",
            cwd=tmp_path, check=True)
    bart, bert = AutoModelForSeq2SeqLM.from_pretrained(out).eval(), BertModel.from_pretrained(tiny_encoder).eval()
    assert bart.config.d_model == bert.config.hidden_size
    assert (bart.config.encoder_layers, bart.config.decoder_layers) == (2, 1)
    assert torch.equal(bart.model.decoder.layers[0].fc1.weight, bert.encoder.layer[0].intermediate.dense.weight)
    bert_tokenizer = AutoTokenizer.from_pretrained(tiny_encoder)
    encoded = bert_tokenizer(["unit 1 failed to control speed and struck unit 2"], return_tensors="pt")
    with torch.no_grad():
        expected = bert(**encoded, output_hidden_states=True).hidden_states[2]
        embedded = bert.embeddings.word_embeddings(encoded.input_ids)
        got = bart.model.encoder(inputs_embeds=embedded, attention_mask=encoded.attention_mask).last_hidden_state
    assert torch.allclose(got, expected, atol=1e-3)  # LayerNorm eps differs: 1e-5 here, 1e-12 in BERT
    # our own cased BPE tokenizer, each token started from the BERT pieces it spells
    tokenizer = AutoTokenizer.from_pretrained(out)
    speed = tokenizer.convert_tokens_to_ids("\u0120speed")  # " speed" in byte-level BPE
    assert speed != tokenizer.unk_token_id
    assert torch.allclose(bart.model.shared.weight[speed], bert.embeddings.word_embeddings.weight[
        bert_tokenizer.convert_tokens_to_ids("speed")])
    output = bart.generate(**tokenizer(["Unit 1 struck Unit 2."], return_tensors="pt"), max_new_tokens=4)
    assert output.shape[1] > 1


@pytest.mark.parametrize("flags, message", [
    (("--arch", "t5"), "--encoder_init builds a bart model"),
    (("--encoder_layers", "7"), "--encoder_layers must be 1..2"),
])
def test_init_model_warm_start_refuses_impossible_shapes(tmp_path, corpus_file, tiny_encoder, flags, message):
    result = run_cli("init-model", "--corpus", str(corpus_file), "--output", str(tmp_path / "m"),
                     "--encoder_init", str(tiny_encoder), *flags, cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr


def test_init_model_cli_writes_model_config_and_log(tmp_path, corpus_file):
    out = tmp_path / "t5"
    result = run_cli("--log_dir", "logs", "init-model", "--arch", "t5", "--size", "tiny",
                     "--corpus", str(corpus_file), "--output", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (out / "init_model_config.json").is_file()
    logs = list((tmp_path / "logs").glob("crashtransformer-2*.log"))
    assert len(logs) == 1
    assert (tmp_path / "logs" / "crashtransformer-latest.log").resolve() == logs[0].resolve()
    text = logs[0].read_text()
    for expected in ("command: crashtransformer.py --log_dir logs init-model", "torch", "transformers", "device:", "seed: 42"):
        assert expected in text


def test_log_lines_reach_the_file_while_the_command_runs(tmp_path):
    """tail -f must show progress live: the file grows before the process exits."""
    script = (
        "import time; from crashtransformer.core.logs import setup_logging, log\n"
        f"setup_logging({str(tmp_path)!r})\n"
        "log.info('first line'); time.sleep(3); log.info('second line')\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], cwd=REPO)
    try:
        deadline = time.time() + 2.5
        seen = ""
        while time.time() < deadline and "first line" not in seen:
            files = list(tmp_path.glob("crashtransformer-*.log"))
            seen = files[0].read_text() if files else ""
            time.sleep(0.1)
        assert "first line" in seen and "second line" not in seen
    finally:
        process.wait(timeout=30)


def test_the_console_log_follows_stderr_when_a_caller_swaps_and_closes_it(tmp_path, monkeypatch):
    first, second = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stderr", first)
    try:
        setup_logging(tmp_path)
        monkeypatch.setattr(sys, "stderr", second)
        first.close()  # what a test runner or a notebook cell does with the stream it handed out
        log.warning("still seen")
        assert "still seen" in second.getvalue() and "Logging error" not in second.getvalue()
    finally:
        for handler in list(log.handlers):
            log.removeHandler(handler)
            handler.close()


def test_user_error_exits_2_with_one_line_and_no_traceback(tmp_path):
    result = run_cli("init-model", "--corpus", str(tmp_path / "missing.csv"), "--output", str(tmp_path / "m"),
                     cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "corpus file not found" in result.stderr.strip().splitlines()[-1]


def test_bad_flag_value_exits_2(tmp_path):
    result = run_cli("init-model", "--arch", "gpt2", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_a_vocabulary_too_small_is_a_usage_error(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("Unit 1 struck Unit 2.\n")
    result = run_cli("init-model", "--corpus", str(corpus), "--output", str(tmp_path / "m"), "--vocab_size", "50",
                     cwd=tmp_path)
    assert result.returncode == 2 and "--vocab_size 50" in result.stderr and "Traceback" not in result.stderr


def _command_configs() -> list[type]:
    from crashtransformer.core import config

    return [cls for name, cls in vars(config).items() if name.endswith("Config") and dataclasses.is_dataclass(cls)]


def test_every_numeric_option_declares_a_range_that_holds_its_default():
    """So a new int or float flag cannot forget one: every flag and config key is checked on entry."""
    from crashtransformer.cli import cli
    from crashtransformer.core.fields import base_type, flat_fields

    configs = _command_configs()
    assert len(configs) == len(cli.commands)  # one config per command, settings groups walked inside
    missing, outside = [], []
    for cls in configs:
        for flat in flat_fields(cls):
            if base_type(flat.annotation)[0] not in (int, float):
                continue
            valid = flat.field.metadata.get("range")
            if valid is None:
                missing.append(f"{cls.__name__}.{flat.name}")
            elif flat.default is not None and not valid.contains(flat.default):
                outside.append(f"{cls.__name__}.{flat.name}={flat.default!r} not in {valid.describe()}")
    assert not missing, f"numeric fields without arg(..., min=..., max=...): {missing}"
    assert not outside, outside


@pytest.mark.parametrize("args, refusal", [
    (("run", "--batch_size", "0"), "'--batch_size': 0 is not in the range x>=1"),  # 0 used to mean automatic
    (("run", "--batch_size", "-3"), "'--batch_size': -3 is not in the range x>=1"),
    (("train", "--batch_size", "0"), "'--batch_size': 0 is not in the range x>=1"),
    (("run", "--top_p", "1.5"), "'--top_p': 1.5 is not in the range 0.0<x<=1.0"),
    (("prepare-data", "--validation_split", "1"), "'--validation_split': 1.0 is not in the range 0.0<=x<1.0"),
    (("run", "--top_p", "nan"), "--top_p: nan is not in the range 0<x<=1"),  # passes click's range; not ours
])
def test_out_of_range_flag_exits_2_with_one_line(tmp_path, args, refusal):
    result = run_cli(*args, cwd=tmp_path)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and refusal in line


def test_out_of_range_value_in_a_config_file_exits_2_naming_file_and_key(tmp_path):
    preset = tmp_path / "preset.yaml"
    preset.write_text("num_beams: 2\nbatch_size: 0\n")
    result = run_cli("run", "--config", str(preset), cwd=tmp_path)
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line == f"error: {preset}: option 'batch_size': 0 is not in the range x>=1"


def test_internal_error_exits_1_with_log_path(tmp_path, monkeypatch, capsys):
    """A failure that is not the user's (here: a bug planted in the model builder) exits 1, names
    the log file that holds the traceback, and prints no traceback."""
    from crashtransformer import cli

    def planted_bug(*args, **kwargs):
        raise ZeroDivisionError("planted")

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("Unit 1 struck Unit 2.\n")
    monkeypatch.setattr("crashtransformer.models.building.build_model", planted_bug)
    monkeypatch.setattr(sys, "argv", ["crashtransformer.py", "--log_dir", str(tmp_path / "logs"), "init-model",
                                      "--corpus", str(corpus), "--output", str(tmp_path / "m")])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    stderr = capsys.readouterr().err
    assert exit_info.value.code == 1
    assert "internal error: ZeroDivisionError: planted" in stderr and str(tmp_path / "logs") in stderr
    assert "Traceback" not in stderr
    log_file = next((tmp_path / "logs").glob("crashtransformer-*.log"))
    assert "Traceback" in log_file.read_text() and "planted_bug" in log_file.read_text()


def test_offline_hub_id_gives_one_clear_error(monkeypatch):
    from crashtransformer.models.loading import load_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError, match="Pass a local directory.*or run with network access"):
        load_model("facebook/bart-base")


def test_missing_local_directory_and_pickle_only_weights(tmp_path, tiny_bart):
    from crashtransformer.models.loading import locate_model

    with pytest.raises(UserError, match="model directory not found"):
        locate_model(str(tmp_path / "nope"))
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    shutil.copy(tiny_bart / "config.json", pickled / "config.json")
    (pickled / "pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(UserError, match="--allow_pickle"):
        locate_model(str(pickled))
    assert locate_model(str(pickled), allow_pickle=True).local_files_only


@dataclass
class _Demo:
    num_epochs: int = arg(3, "epochs")
    learning_rate: float = arg(5e-5, "lr")
    report_to: str = arg("tensorboard", "where", choices=("tensorboard", "none"))
    fp16: bool = arg(False, "half precision")


def test_config_precedence_defaults_yaml_flags(tmp_path):
    preset = tmp_path / "preset.yaml"
    preset.write_text("num_epochs: 5\nlearning-rate: 3.0e-5\nfp16: true\n")
    cfg = resolve_config(_Demo, str(preset), {"num_epochs": 7, "learning_rate": None, "fp16": None})
    assert (cfg.num_epochs, cfg.learning_rate, cfg.fp16, cfg.report_to) == (7, 3e-5, True, "tensorboard")


@pytest.mark.parametrize("content, message", [
    ("num_epoch: 5\n", "unknown option 'num_epoch'"),
    ("num_epochs: five\n", "option 'num_epochs': expected int"),
    ("fp16: 1\n", "option 'fp16': expected bool"),
    ("report_to: wandb\n", "not one of tensorboard, none"),
    ("- a list\n", "expected a mapping"),
])
def test_config_file_errors_name_the_file_and_key(tmp_path, content, message):
    preset = tmp_path / "bad.yaml"
    preset.write_text(content)
    with pytest.raises(UserError, match=message):
        resolve_config(_Demo, str(preset), {})


def test_config_presets_in_repo_are_valid_train_configs():
    """Every preset is a `train --config` file: known keys, values of the right types."""
    from crashtransformer.core.config import TrainConfig

    presets = sorted((REPO / "configs").glob("*.yaml"))
    assert presets
    for preset in presets:
        cfg = resolve_config(TrainConfig, str(preset), {})
        assert cfg.task in ("seq2seq", "classification", "ner"), preset
