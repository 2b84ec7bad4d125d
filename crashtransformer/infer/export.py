"""`export`: a fine-tuned seq2seq model -> a CTranslate2 model directory, quantized.

    EXPORT/
      model.bin, config.json, shared_vocabulary.json   CTranslate2's files (its own config.json)
      hf/                                               the source model's tokenizer, transformers
                                                        config (model_type) and generation config
      export_manifest.json                              source, quantization, sizes, versions

`run --backend ctranslate2 --model EXPORT` reads it (crashtransformer/infer/ctranslate2.py).
The directory is written under a temporary name beside the target and renamed into place,
so a killed export never leaves a half-written model where `run` would pick it up.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from crashtransformer.core.errors import UserError
from crashtransformer.infer.ctranslate2 import HF_SUBDIR, MANIFEST, require_ctranslate2
from crashtransformer.core.logs import log
from crashtransformer.core.runtime import versions
from crashtransformer.core.io import disk_full_is_retry, file_digest, write_json_atomic

QUANTIZATIONS = ("int8", "int8_float16", "int8_bfloat16", "float16", "bfloat16", "float32")

# model_type -> the pre/post layer-norm flag CTranslate2 4.8's BART loader reads from the
# config (`normalize_before`), which transformers 5 no longer defines. BART normalises after
# each block, Pegasus before. None: CTranslate2's loader needs nothing from us.
SUPPORTED_FAMILIES = {"bart": False, "pegasus": True, "mbart": None, "t5": None, "mt5": None}


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _weights_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.iterdir() if f.is_file()
               and (f.suffix in (".safetensors", ".bin", ".h5", ".msgpack")))


def _check_family(config, where: str) -> str:
    from crashtransformer.models.loading import not_seq2seq

    family = str(getattr(config, "model_type", "") or "")
    problem = not_seq2seq(config, where)
    if problem or family not in SUPPORTED_FAMILIES:
        why = f"{problem}: " if problem else ""
        raise UserError(f"cannot export model_type '{family or '?'}' to CTranslate2: {why}supported are "
                        f"{', '.join(sorted(SUPPORTED_FAMILIES))} summarizers; run this model with --backend torch")
    return family


def _converter(location: str, family: str, trust_remote_code: bool, allow_pickle: bool):
    """CTranslate2's converter, loading through our safe loaders (safetensors, offline)."""
    from ctranslate2.converters import TransformersConverter

    from crashtransformer.models.loading import load_model, load_tokenizer

    class SafeConverter(TransformersConverter):
        def load_model(self, model_class, model_name_or_path, **kwargs):
            model = load_model(model_name_or_path, "seq2seq", trust_remote_code=trust_remote_code,
                               allow_pickle=allow_pickle)
            if SUPPORTED_FAMILIES[family] is not None:
                model.config.normalize_before = SUPPORTED_FAMILIES[family]
                model.config.normalize_embedding = hasattr(model.model.encoder, "layernorm_embedding")
            return model.float()  # CTranslate2 quantizes from float32 weights

        def load_tokenizer(self, tokenizer_class, model_name_or_path, **kwargs):
            return load_tokenizer(model_name_or_path, trust_remote_code=trust_remote_code)

    return SafeConverter(location, trust_remote_code=trust_remote_code)


def _save_hf_files(location: str, target: Path, trust_remote_code: bool, allow_pickle: bool) -> None:
    """Tokenizer, model config and generation config, as transformers writes them."""
    from transformers import GenerationConfig

    from crashtransformer.models.loading import load_config, load_tokenizer
    from crashtransformer.models.building import default_generation_config

    config = load_config(location, trust_remote_code, allow_pickle)
    target.mkdir(parents=True)
    config.save_pretrained(target)
    load_tokenizer(location, trust_remote_code).save_pretrained(target)
    try:
        generation = GenerationConfig.from_pretrained(location, local_files_only=Path(location).is_dir())
    except OSError:  # a model saved without one: the defaults our own models carry
        generation = default_generation_config(config)
    generation.save_pretrained(target)


def _temporary_dir(output: Path) -> Path:
    temporary = output.parent / f".{output.name}.partial-{os.getpid()}"
    shutil.rmtree(temporary, ignore_errors=True)
    return temporary


def leftover_dirs(output: Path) -> list[Path]:
    """The temporary directories beside `output` of exports that never finished (a kill, a
    power cut): the caller removes them when it knows no live export is writing them."""
    return sorted(p for pattern in (f".{output.name}.partial-*", f".{output.name}.old-*")
                  for p in output.parent.glob(pattern) if p.is_dir())


def _move_into_place(temporary: Path, output: Path) -> None:
    """Rename the finished export onto `output` (an older export there moves aside first)."""
    if output.exists():
        old = output.parent / f".{output.name}.old-{os.getpid()}"
        output.rename(old)
        temporary.rename(output)
        shutil.rmtree(old, ignore_errors=True)
    else:
        temporary.rename(output)


def export_model(cfg) -> Path:
    """Convert cfg.model to CTranslate2 at cfg.quantization in cfg.output; return the directory."""
    from crashtransformer.models.loading import load_config, locate_model

    if cfg.format != "ctranslate2":
        raise UserError(f"unknown --format {cfg.format!r}: only ctranslate2 is supported")
    if not cfg.output:
        raise UserError("missing --output DIR: where to write the exported model")
    require_ctranslate2()
    output = Path(cfg.output)
    if output.exists() and not cfg.overwrite:
        raise UserError(f"{output} already exists; pass --overwrite to replace it")
    source = locate_model(cfg.model, cfg.loading.allow_pickle)
    config = load_config(cfg.model, cfg.loading.trust_remote_code, cfg.loading.allow_pickle)
    family = _check_family(config, cfg.model)
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary_dir(output)
    started = time.perf_counter()
    try:
        with disk_full_is_retry(output, then="run the same command again"):
            _convert_into(temporary, cfg, source, family, config, started)
            _move_into_place(temporary, output)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)  # a failed export leaves nothing behind
    sizes = json.loads((output / MANIFEST).read_text(encoding="utf-8"))["sizes_bytes"]
    log.info("exported %s to %s as %s: weights %s -> %.1f MB", cfg.model, output, cfg.quantization,
             f"{sizes['source_weights'] / 1e6:.1f} MB" if sizes["source_weights"] else "?",
             sizes["exported_weights"] / 1e6)
    return output


def _convert_into(temporary: Path, cfg, source, family: str, config, started: float) -> None:
    """CTranslate2's files, the Hugging Face files and the manifest (written last), into `temporary`."""
    from crashtransformer.models.loading import PROVENANCE_FILE

    converter = _converter(source.location, family, cfg.loading.trust_remote_code, cfg.loading.allow_pickle)
    converter.convert(str(temporary), quantization=cfg.quantization, force=True)
    _save_hf_files(source.location, temporary / HF_SUBDIR, cfg.loading.trust_remote_code, cfg.loading.allow_pickle)
    provenance = Path(source.location) / PROVENANCE_FILE
    if provenance.is_file():  # the export is the same model: it keeps its record
        shutil.copy2(provenance, temporary / PROVENANCE_FILE)
    write_json_atomic(temporary / MANIFEST, _manifest(cfg, source, config, temporary, time.perf_counter() - started))


def _manifest(cfg, source, config, exported: Path, seconds: float) -> dict:
    source_dir = Path(source.location)
    local = source_dir.is_dir()
    return {
        "format": "ctranslate2",
        "source_model": str(source_dir.resolve()) if local else source.name,
        "model_type": config.model_type,
        "quantization": cfg.quantization,
        "parameters": _count_parameters(config),
        "sizes_bytes": {
            "source_weights": _weights_bytes(source_dir) if local else None,
            "source_directory": _dir_bytes(source_dir) if local else None,
            "exported_weights": (exported / "model.bin").stat().st_size,
            "exported_directory": _dir_bytes(exported),
        },
        "sha256": {"model.bin": file_digest(exported / "model.bin")},  # checked before each run: same-size damage
        "export_seconds": round(seconds, 2),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": versions("ctranslate2"),
    }


def _count_parameters(config) -> int:
    """Parameters of the source model, counted on an empty (meta-device) copy: no weights loaded."""
    import torch
    import transformers

    with torch.device("meta"):
        model = transformers.AutoModelForSeq2SeqLM.from_config(config)
    return int(model.num_parameters())
