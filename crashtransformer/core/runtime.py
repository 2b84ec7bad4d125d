"""What this process runs on: device, dtype, default batch size, free GPU memory, versions, native memory.

One implementation of each, used by every stage (training, generation, the metric encoders),
so `--device auto` means the same thing everywhere.
"""

from __future__ import annotations

import functools
import os
import platform
from importlib.metadata import PackageNotFoundError, version

from crashtransformer.core.errors import UserError

# Default batch sizes. On a CPU the best batch holds about 32 sequences in flight (crashes x
# beams): the shipped model on 2 cores ran greedy at 32.6 / 44.0 / 37.7 crashes/s with batches of
# 8 / 32 / 64, and with 4 beams at 12.9 / 12.7 / 8.8 with 8 / 16 / 32 (bench/bench_run.py
# measures the whole command). A GPU keeps scaling to its memory limit.
CPU_SEQUENCES = 32
GPU_BATCH_SIZE = 32  # under 24 GB of GPU memory
LARGE_GPU_BATCH_SIZE = 64  # 24 GB or more
# Packages every report names; a caller adds its own (ctranslate2, rouge-score, ...).
CORE_PACKAGES = ("torch", "transformers")
DTYPES = {"fp32": "float32", "float32": "float32", "bf16": "bfloat16", "bfloat16": "bfloat16",
          "fp16": "float16", "float16": "float16"}


def pick_device(device: str = "auto"):
    """`auto`: the first CUDA GPU when present, else Apple MPS, else CPU; otherwise as named."""
    import torch

    if device and device != "auto":
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise UserError(f"--device {device}: no CUDA GPU is visible here; use --device cpu or auto")
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def device_name(device: str = "auto") -> str:
    """pick_device as a string, for libraries that take one (bert-score)."""
    return str(pick_device(device))


def pick_dtype(device, dtype: str = "auto"):
    """`auto`: bfloat16 on GPUs that support it, float16 on older GPUs, float32 on CPU/MPS."""
    import torch

    if dtype and dtype != "auto":
        return getattr(torch, DTYPES[dtype])
    if getattr(device, "type", str(device)) == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def default_batch_size(device, num_beams: int = 1) -> int:
    """A batch size that fits: by device kind and GPU memory; on a CPU, by beams too."""
    import torch

    if getattr(device, "type", str(device)) != "cuda":
        return max(1, CPU_SEQUENCES // max(1, num_beams))
    index = device.index if getattr(device, "index", None) is not None else 0
    memory_gb = torch.cuda.get_device_properties(index).total_memory / 2**30
    return LARGE_GPU_BATCH_SIZE if memory_gb >= 24 else GPU_BATCH_SIZE


def free_gpu_memory(device) -> int | None:
    """Bytes free on a CUDA device now (other processes' use counted), or None off CUDA or when
    the driver will not say: the base of a token budget (infer/batching.py)."""
    import torch

    if getattr(device, "type", str(device)) != "cuda" or not torch.cuda.is_available():
        return None
    try:
        free, _total = torch.cuda.mem_get_info(device)
    except (RuntimeError, AssertionError):  # a driver or device that cannot be queried
        return None
    return int(free)


def describe_device() -> str:
    import torch

    if torch.cuda.is_available():
        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        return f"cuda x{len(names)} ({', '.join(names)})"
    return f"cpu ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"


@functools.lru_cache(maxsize=None)
def _package_version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def versions(*packages: str) -> dict[str, str]:
    """crashtransformer, python, torch, transformers and `packages`, as installed (looked up once)."""
    from crashtransformer.core.version import __version__

    found = {"crashtransformer": __version__, "python": platform.python_version()}
    for package in (*CORE_PACKAGES, *packages):
        found[package] = _package_version(package)
    return found


@functools.lru_cache(maxsize=1)
def _libc():
    """The C library, looked up once (find_library runs a subprocess)."""
    import ctypes
    import ctypes.util

    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def release_freed_memory() -> None:
    """Hand the heap pages freed since the last call back to the OS (glibc's malloc_trim).

    Each batch frees tensors of shapes the next batch does not reuse exactly. glibc keeps those
    blocks in its heap; the heap fragments, later batches spill into pages freed long ago, and
    a long run's peak memory creeps up with the input's length. Trimming after every batch, not
    only after every chunk, cut the peak of a 40,000-crash run (in one process) from 1,115 to
    933 MB for about 4% of speed; `bench/bench_run.py memory` measures the whole command. A no-op
    where the C library has no malloc_trim (macOS, musl)."""
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is not None:
        trim(0)


def peak_memory() -> dict[str, float]:
    """Peak resident memory of this process and, when a GPU was used, peak CUDA memory, in MiB."""
    import resource

    import torch

    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    peak = {"peak_rss_mb": round(rss_kib / 1024, 1)}
    if torch.cuda.is_available():
        peak["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return peak
