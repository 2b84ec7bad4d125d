"""Which generation backend `run` uses, and the model directory it reads.

`--backend auto` (the default) runs a summarizer through CTranslate2 on a CPU and through torch
on a GPU. On a CPU, CTranslate2 decodes one batch per core on one thread each, where torch
shares every matrix product between the cores, and the small models this tool trains have
matrices too small to share well: on the 2-core dev box the shipped model ran greedy 2.76x the
pipeline-style baseline through CTranslate2 (float32) and 1.80x through torch, with the same
1,000 summaries (bench/bench_run.py). The conversion is float32, so greedy decoding writes what
torch writes; beam search breaks ties its own way (other words, same quality: docs/export.md),
and the sampled candidates are always drawn by torch (infer/sampling.py). It is made once per model and kept in a cache:

    $CRASHTRANSFORMER_CACHE (default $XDG_CACHE_HOME/crashtransformer, else ~/.cache/crashtransformer)
      ctranslate2/<fingerprint>-float32/     an `export` directory (see crashtransformer.infer.export)

The fingerprint covers the model directory's path, its files (name, size, modification time)
and the ctranslate2 version, so a retrained model is converted again; old conversions are never
read again and can be deleted at any time. Auto falls back to torch, saying why, when ctranslate2
is not installed, the model is not a local directory or not a family CTranslate2 converts,
--trust_remote_code is set, or the conversion fails for a named cause (CONVERSION_FAILURES: the
cache cannot be written, the converter refuses the model); any other error stops the run.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from crashtransformer.core.config import ExportConfig, ModelLoading
from crashtransformer.core.errors import UserError
from crashtransformer.core.logs import log

CACHE_QUANTIZATION = "float32"  # exact weights: greedy decoding writes the same summaries as torch
CACHE_VERSION = 2  # bump when the conversion or the layout of a cached one changes


@dataclass(frozen=True)
class BackendChoice:
    name: str  # "torch" or "ctranslate2"
    model_dir: str  # what that backend loads: the model, or its CTranslate2 conversion
    reason: str  # why, for the log and the report


def cache_root() -> Path:
    explicit = os.environ.get("CRASHTRANSFORMER_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "crashtransformer"


def choose_backend(backend: str, model_dir: str, device, loading: ModelLoading) -> BackendChoice:
    """The backend and model directory for `backend` (auto, torch, ctranslate2) on `device` (see above)."""
    from crashtransformer.infer.ctranslate2 import is_ctranslate2_export

    if backend != "auto":
        return BackendChoice(backend, model_dir, "asked for")
    if is_ctranslate2_export(model_dir):
        return BackendChoice("ctranslate2", model_dir, "auto: the model is a CTranslate2 export")
    if getattr(device, "type", str(device)) != "cpu":
        return BackendChoice("torch", model_dir, f"auto: torch on {device}")
    why_not = _why_not_ctranslate2(model_dir, loading)
    if why_not:
        return BackendChoice("torch", model_dir, f"auto: torch, as {why_not}")
    try:
        converted = cached_conversion(model_dir, loading.allow_pickle)
    except CONVERSION_FAILURES as error:  # named, expected causes only: anything else is a bug to see
        cause = _conversion_failure(error)
        log.warning("could not convert %s to CTranslate2 (%s); running it with torch", model_dir, cause)
        return BackendChoice("torch", model_dir, f"auto: torch, as the CTranslate2 conversion failed: {cause}")
    return BackendChoice("ctranslate2", str(converted), f"auto: CTranslate2 {CACHE_QUANTIZATION} on the CPU")


# What may stop a conversion that torch still runs: the cache cannot be written (full disk,
# read-only home), the converter refuses the model's layout (ValueError, NotImplementedError from
# ctranslate2's converters), or our export's own checks refuse it (UserError).
CONVERSION_FAILURES = (OSError, ValueError, NotImplementedError, UserError)


def _conversion_failure(error: BaseException) -> str:
    if isinstance(error, OSError) and _in_cache(error):
        return f"the conversion cache {cache_root()} cannot be written ({error.strerror or error}); " \
               "set CRASHTRANSFORMER_CACHE to a writable folder"
    if isinstance(error, OSError):
        return f"a file could not be read or written ({error})"
    if isinstance(error, UserError):
        return str(error)
    return f"the CTranslate2 converter does not support this model ({type(error).__name__}: {error})"


def _in_cache(error: OSError) -> bool:
    """Whether the failing file lies in the cache (no file named: the write of the conversion itself)."""
    filename = error.filename or ""
    return not filename or Path(filename).resolve().is_relative_to(cache_root().resolve())


def _why_not_ctranslate2(model_dir: str, loading: ModelLoading) -> str | None:
    import importlib.util

    from crashtransformer.infer.export import SUPPORTED_FAMILIES
    from crashtransformer.models.loading import load_config, model_task

    if importlib.util.find_spec("ctranslate2") is None:
        return "ctranslate2 is not installed (pip install ctranslate2)"
    if loading.trust_remote_code:
        return "--trust_remote_code is set"
    if not Path(model_dir).is_dir():
        return "the model is not a local directory"
    config = load_config(model_dir, loading.trust_remote_code, loading.allow_pickle)
    family = str(getattr(config, "model_type", ""))
    if model_task(config) != "seq2seq" or family not in SUPPORTED_FAMILIES:
        return f"CTranslate2 does not convert model_type '{family}'"
    return None


def model_fingerprint(model_dir: str | os.PathLike) -> str:
    """A key for the model's files and the converter: name, size and mtime of every file."""
    import ctranslate2

    digest = hashlib.sha256(f"v{CACHE_VERSION} ctranslate2 {ctranslate2.__version__}".encode())
    root = Path(model_dir).resolve()
    digest.update(str(root).encode())
    for path in sorted(p for p in root.iterdir() if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.name} {stat.st_size} {stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:20]


def cached_conversion(model_dir: str, allow_pickle: bool = False) -> Path:
    """The model's float32 CTranslate2 conversion from the cache, made first when absent.

    A lock file serializes processes that convert the same model (two ranks of one run, or two
    runs): the second waits and then finds the first one's conversion. A conversion is written
    under a temporary name and renamed into place whole (infer/export.py), so a kill leaves a
    temporary directory, removed here by the next conversion, never a half target; a target
    damaged since (a cut copy, a disk error) is deleted and made again, with a warning."""
    from crashtransformer.infer.export import export_model

    target = cache_root() / "ctranslate2" / f"{model_fingerprint(model_dir)}-{CACHE_QUANTIZATION}"
    if target.is_dir() and _whole(target, warn=False):
        log.info("CTranslate2 conversion of %s: %s (cached)", model_dir, target)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"{target.name}.lock", "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # released when the file closes
        _remove_leftovers(target)
        if not (target.is_dir() and _whole(target, warn=True)):
            log.info("converting %s to CTranslate2 %s once, into %s", model_dir, CACHE_QUANTIZATION, target)
            export_model(ExportConfig(model=model_dir, output=str(target), quantization=CACHE_QUANTIZATION,
                                      overwrite=True, loading=ModelLoading(allow_pickle=allow_pickle)))
    return target


def _whole(target: Path, warn: bool) -> bool:
    """Whether a cached conversion is whole; a damaged one is deleted (under the lock: `warn`)."""
    from crashtransformer.infer.ctranslate2 import export_damage

    damage = export_damage(target)
    if damage and warn:
        log.warning("the cached CTranslate2 conversion %s is damaged (%s): deleting it and converting again",
                    target, damage)
        shutil.rmtree(target)
    return damage is None


def _remove_leftovers(target: Path) -> None:
    """Temporary directories of conversions of `target` that never finished: with the lock held,
    no live process is writing one, so each is a killed process's."""
    from crashtransformer.infer.export import leftover_dirs

    for leftover in leftover_dirs(target):
        log.info("removing %s, left by a conversion that did not finish", leftover)
        shutil.rmtree(leftover, ignore_errors=True)
