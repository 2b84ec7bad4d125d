"""`train`'s TrainingArguments on a GPU (TF32, fused AdamW, pinned memory, data-loader workers)
and on a CPU, decided without a GPU: the GPU is pretended (`cuda=True`, `tf32_supported=...`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from crashtransformer.core.config import TrainConfig, resolve_config
from crashtransformer.core.errors import UserError
from crashtransformer.train.common import resolve_precision, trainer_arguments
from crashtransformer.train.device import MAX_DEFAULT_WORKERS, dataloader_workers

# The arguments a CPU run was given before the GPU choices existed: a CPU run must keep exactly these.
CPU_KEYS = {
    "output_dir", "num_train_epochs", "max_steps", "per_device_train_batch_size", "per_device_eval_batch_size",
    "gradient_accumulation_steps", "auto_find_batch_size", "learning_rate", "weight_decay", "warmup_steps",
    "fp16", "bf16", "eval_strategy", "save_strategy", "eval_steps", "save_steps", "save_total_limit",
    "load_best_model_at_end", "metric_for_best_model", "logging_strategy", "logging_steps", "logging_first_step",
    "logging_nan_inf_filter", "include_num_input_tokens_seen", "report_to", "disable_tqdm",
    "dataloader_pin_memory", "average_tokens_across_devices", "ddp_find_unused_parameters", "use_cpu",
    "train_sampling_strategy", "seed", "data_seed",
}
GPU_KEYS = {"optim", "tf32", "dataloader_num_workers", "dataloader_persistent_workers"}


def _config(**values) -> TrainConfig:
    return resolve_config(TrainConfig, None, values)


def _arguments(cfg=None, *, cuda: bool, tf32: bool | None = None, bf16: bool = False, fp16: bool = False):
    return trainer_arguments(cfg or _config(), Path("out"), fp16, bf16, True, cuda=cuda, tf32_supported=tf32)


def _training_argument_names() -> set[str]:
    from transformers import Seq2SeqTrainingArguments

    return {field.name for field in dataclasses.fields(Seq2SeqTrainingArguments)}


def test_cpu_arguments_are_unchanged_and_build():
    from transformers import Seq2SeqTrainingArguments

    args = _arguments(cuda=False)
    assert set(args) == CPU_KEYS
    assert args["use_cpu"] is True and args["dataloader_pin_memory"] is False
    assert args["train_sampling_strategy"] == "group_by_length" and not args["bf16"] and not args["fp16"]
    built = Seq2SeqTrainingArguments(**args)  # this machine has no GPU: the real thing builds
    assert built.dataloader_num_workers == 0 and built.tf32 is None


def test_this_cpu_machine_gets_the_cpu_arguments():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present: the default is not the CPU's")
    assert trainer_arguments(_config(), Path("out"), False, False, True) == _arguments(cuda=False)


def test_gpu_with_bf16_and_tf32():
    fp16, bf16 = resolve_precision(False, True, "bart", cuda=True, bf16_supported=True)
    args = _arguments(cuda=True, tf32=True, bf16=bf16, fp16=fp16)
    assert args["bf16"] is True and args["fp16"] is False
    assert args["tf32"] is True
    assert args["optim"] == "adamw_torch_fused"
    assert args["dataloader_pin_memory"] is True and args["use_cpu"] is False
    assert args["train_sampling_strategy"] == "group_by_length"
    workers = dataloader_workers(None, True)
    assert args.get("dataloader_num_workers", 0) == workers
    assert args.get("dataloader_persistent_workers", False) is (workers > 0)
    assert set(args) <= CPU_KEYS | GPU_KEYS
    assert set(args) <= _training_argument_names()  # every name is one TrainingArguments takes


def test_gpu_without_tf32_or_bf16():
    """A pre-Ampere GPU (T4, V100): no tf32 key at all (TrainingArguments raises on tf32=True
    there), --bf16 refused, fp16 for BART accepted; fused AdamW still."""
    with pytest.raises(UserError, match="does not support bf16"):
        resolve_precision(False, True, "bart", cuda=True, bf16_supported=False)
    fp16, bf16 = resolve_precision(True, False, "bart", cuda=True, bf16_supported=False)
    args = _arguments(cuda=True, tf32=False, fp16=fp16, bf16=bf16)
    assert "tf32" not in args
    assert args["fp16"] is True and args["bf16"] is False
    assert args["optim"] == "adamw_torch_fused" and args["dataloader_pin_memory"] is True


def test_gpu_in_fp32_still_gets_tf32():
    args = _arguments(cuda=True, tf32=True)
    assert args["tf32"] is True and not args["bf16"] and not args["fp16"]


def test_cpu_never_gets_gpu_choices_even_when_asked_for_bf16():
    fp16, bf16 = resolve_precision(False, True, "bart", cuda=False)  # falls back to fp32 with a warning
    args = _arguments(cuda=False, tf32=True, bf16=bf16, fp16=fp16)
    assert set(args) == CPU_KEYS and not args["bf16"]


def test_default_workers():
    assert dataloader_workers(None, False, cpu_count=64) == 0  # CPU: collate in the main process
    assert dataloader_workers(None, True, cpu_count=16) == MAX_DEFAULT_WORKERS == 4
    assert dataloader_workers(None, True, cpu_count=6) == 3
    assert dataloader_workers(None, True, cpu_count=1) == 0
    assert dataloader_workers(2, False, cpu_count=2) == 2  # asked for: given, on any device
    assert dataloader_workers(0, True, cpu_count=16) == 0


def test_default_workers_are_shared_between_local_processes(monkeypatch):
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")  # torchrun --nproc_per_node 4
    assert dataloader_workers(None, True, cpu_count=16) == 2
    assert dataloader_workers(None, True, cpu_count=4) == 0


def test_requested_workers_are_persistent_on_both_devices():
    for cuda in (False, True):
        args = _arguments(_config(dataloader_num_workers=2), cuda=cuda, tf32=False)
        assert args["dataloader_num_workers"] == 2 and args["dataloader_persistent_workers"] is True
    cpu = _arguments(_config(dataloader_num_workers=2), cuda=False)
    assert set(cpu) == CPU_KEYS | {"dataloader_num_workers", "dataloader_persistent_workers"}
    gpu_no_workers = _arguments(_config(dataloader_num_workers=0), cuda=True, tf32=True)
    assert "dataloader_num_workers" not in gpu_no_workers and "dataloader_persistent_workers" not in gpu_no_workers


def test_fused_adamw_is_already_the_transformers_default():
    """transformers 5 picks adamw_torch_fused itself with torch >= 2.8: the explicit choice on a
    GPU changes nothing there, and a CPU run (no `optim` key) keeps whatever the default is."""
    import torch
    from packaging.version import Version
    from transformers import TrainingArguments

    default = {field.name: field.default for field in dataclasses.fields(TrainingArguments)}["optim"]
    if Version(torch.__version__.split("+")[0]) >= Version("2.8"):
        assert str(getattr(default, "value", default)) == "adamw_torch_fused"
