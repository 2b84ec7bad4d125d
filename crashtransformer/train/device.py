"""What training adds on a GPU: TF32 matmuls where the card has them, the fused AdamW kernel and
data-loader worker processes. On a CPU it adds nothing (unless --dataloader_num_workers is
given), so CPU runs keep their arguments exactly (train/common.py trainer_arguments)."""

from __future__ import annotations

import os
from typing import Any


def device_arguments(cfg, cuda: bool, tf32_supported: bool | None = None, cpu_count: int | None = None
                     ) -> dict[str, Any]:
    """What a GPU run adds to the shared arguments: TF32 matmuls where the GPU has them (Ampere,
    compute capability 8, or newer), the fused AdamW kernel and data-loader worker processes.
    On a CPU: nothing unless --dataloader_num_workers is given (today's arguments, unchanged)."""
    extra: dict[str, Any] = {}
    if cuda:
        # transformers 5 already defaults to adamw_torch_fused with torch >= 2.8; named here so an
        # older torch (or a changed default) cannot silently fall back to the per-tensor loop.
        extra["optim"] = "adamw_torch_fused"
        if _tf32_available() if tf32_supported is None else tf32_supported:
            # the fp32 matmuls left outside bf16/fp16 autocast (and all of them in fp32 training)
            extra["tf32"] = True  # TrainingArguments raises on a GPU without TF32: only set where it exists
    workers = dataloader_workers(getattr(cfg, "dataloader_num_workers", None), cuda, cpu_count)
    if workers > 0:
        extra["dataloader_num_workers"] = workers
        extra["dataloader_persistent_workers"] = True  # no new processes each epoch and each evaluation
    return extra


# At most this many collating processes per training process by default: collation is light,
# a few processes keep a GPU fed; more only compete with tokenization and the main process.
MAX_DEFAULT_WORKERS = 4


def dataloader_workers(requested: int | None, cuda: bool, cpu_count: int | None = None) -> int:
    """--dataloader_num_workers, or by default 0 on a CPU (collating in the main process costs the
    least there: every core already works on the model) and min(4, cores/2) on a GPU, shared out
    between the training processes of this machine (torchrun's LOCAL_WORLD_SIZE)."""
    if requested is not None:
        return requested
    if not cuda:
        return 0
    cores = os.cpu_count() if cpu_count is None else cpu_count
    local_processes = max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1))
    return min(MAX_DEFAULT_WORKERS, (cores or 1) // 2 // local_processes)


def _tf32_available() -> bool:
    """transformers' own test (a CUDA build and a GPU of compute capability 8 or more), which
    TrainingArguments(tf32=True) applies and raises on."""
    from transformers.utils import is_torch_tf32_available

    return is_torch_tf32_available()
