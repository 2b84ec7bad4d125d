"""The crashes and models the `run` benches share: a CSV of real narratives, the shipped model or
a fresh one from init-model (random weights, made to write a fixed length), and the model inputs
`run` builds from them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CRIS = REPO.parent / "shared" / "data" / "cris_narratives_llm_summaries.csv"


def prepare(workdir: Path, rows: int, model: str | None, narratives: Path = CRIS,
             size: str | None = None) -> tuple[Path, Path]:
    """A CSV of `rows` narratives and a model: `size` (small, base-like) builds a fresh one with
    init-model; else the shipped default model unless one is given; a fresh, untrained small
    BART when neither exists."""
    import pandas as pd

    if not narratives.is_file():
        sys.exit(f"needs {narratives} (real narratives; or --narratives FILE with a Narrative column); absent here")
    frame = pd.read_csv(narratives, dtype=str).head(rows)
    data = workdir / "crashes.csv"
    pd.DataFrame({"Crash_ID": [f"B{i:06d}" for i in range(len(frame))], "Narrative": frame["Narrative"]}).to_csv(
        data, index=False)
    from crashtransformer.run.pipeline import DEFAULT_MODEL_DIR

    if size:
        return data, init_model(size, narratives, workdir / f"model-{size}")
    if model or (DEFAULT_MODEL_DIR / "config.json").is_file():
        return data, Path(model or DEFAULT_MODEL_DIR)
    from crashtransformer.data.corpus import read_corpus_texts
    from crashtransformer.models.building import build_model

    return data, build_model("bart", "small", read_corpus_texts([str(narratives)]), workdir / "model")


def init_model(size: str, corpus: Path, out: Path) -> Path:
    """`init-model --arch bart --size SIZE`, the tokenizer trained on the narratives: random weights."""
    subprocess.run([sys.executable, str(REPO / "crashtransformer.py"), "--log_level", "WARNING", "init-model",
                    "--arch", "bart", "--size", size, "--corpus", str(corpus), "--output", str(out)],
                   check=True, capture_output=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    return out


def fix_length(model_dir: Path, max_new_tokens: int) -> None:
    """min_new_tokens = max_new_tokens in the (fresh) model's generation_config.json: `run` starts
    from the model's own config (infer/summarizer.py beam_config) and so does model.generate, so
    every summary, ours and the baseline's, takes exactly max_new_tokens decoding steps.
    With forced_eos_token_id (BART) the last step is the forced end token: min_new_tokens is one
    less there (the same steps in transformers; CTranslate2, which counts content tokens only,
    refuses a minimum above its maximum of max_new_tokens - 1)."""
    from transformers import GenerationConfig

    config = GenerationConfig.from_pretrained(model_dir)
    config.min_new_tokens = max_new_tokens - (1 if config.forced_eos_token_id is not None else 0)
    config.save_pretrained(model_dir)


def _model_inputs(data: Path, model_dir: Path, max_length: int) -> list:
    """The model inputs `run` builds for the crashes of `data` (plan.policy.ModelInputs)."""
    from crashtransformer.data.records import CrashRecord, iter_records
    from crashtransformer.models.loading import load_config, load_tokenizer
    from crashtransformer.plan.policy import ModelInputs
    from crashtransformer.plan.prompt import model_family

    inputs = ModelInputs(load_tokenizer(str(model_dir)), model_family(load_config(str(model_dir))), max_length)
    records = [r for r in iter_records(data) if isinstance(r, CrashRecord)]
    return inputs.build_all(records)[1]


def source_tokens(data: Path, model_dir: Path, max_length: int) -> float:
    """Mean model-input tokens per crash (what the cross-attention cache holds), as `run` builds them."""
    built = _model_inputs(data, model_dir, max_length)
    return sum(len(i.input_ids) for i in built) / max(1, len(built))


def prompts(data: Path, model_dir: Path, max_length: int) -> list[str]:
    """The prompt texts `run` builds, for the baselines (not timed)."""
    return [model_input.text for model_input in _model_inputs(data, model_dir, max_length)]
