"""Fast inference, side by side: the pipeline-style baseline, our `run` (torch), and `run
--backend ctranslate2` on float32 and int8 exports of the same model; plus PyTorch dynamic
int8 quantization of the baseline, to see whether it earns a `--quantize` flag.

transformers 5 removed `pipeline("summarization")`; the baseline is what it did:
`model.generate` over batches in file order, padded per batch, under torch.no_grad, on
prompts our prompt builder made beforehand (not timed). `run` is timed whole (reading,
plans, prompts, generation, rerank, faithfulness metrics, artifact writes) at its own
device-chosen batch size unless --ours_batch_size says otherwise; every method's time includes
loading its model. References are kept out of `run`'s input (scored afterwards, for all alike). Each method runs in its own child process, so each peak RSS is its own.

    python bench/bench_export.py --model fine_tuned_models/x/final_model --data ../shared/data/x.csv
    python bench/bench_export.py --rows 200          # a fresh (untrained) init-model small BART

Prints crashes/s (and the ratio to the baseline), peak RSS, model size on disk, ROUGE-L F1
against the references, ROUGE-L against the float32 torch outputs, and identical strings.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CRIS = REPO.parent / "shared" / "data" / "cris_narratives_llm_summaries.csv"
METHODS = ("pipeline", "pipeline-dynamic-int8", "run-torch", "run-ct2-float32", "run-ct2-int8")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ----------------------------------------------------------------------------- setup (parent)


def _prepare_data(source: Path, rows: int, workdir: Path) -> tuple[Path, list[str]]:
    """(Crash_ID, Narrative of the first `rows` rows, their reference summaries). The references
    stay out of the file: with them `run` would also score every crash, work the baseline skips."""
    import pandas as pd

    from crashtransformer.data.records import CrashRecord, iter_records

    records = [r for r in iter_records(source) if isinstance(r, CrashRecord)][:rows]
    path = workdir / "crashes.csv"
    pd.DataFrame({"Crash_ID": [f"B{i:06d}" for i in range(len(records))],
                  "Narrative": [r.narrative for r in records]}).to_csv(path, index=False)
    return path, [r.summary for r in records]


def _prepare_model(model: str | None, workdir: Path) -> Path:
    if model:
        return Path(model)
    from crashtransformer.data.corpus import read_corpus_texts
    from crashtransformer.models.building import build_model

    return build_model("bart", "small", read_corpus_texts([str(CRIS)]), workdir / "model")


def _export(model: Path, quantization: str, workdir: Path) -> Path:
    from crashtransformer.infer.export import export_model

    from crashtransformer.core.config import ExportConfig

    return export_model(ExportConfig(model=str(model), output=str(workdir / f"ct2-{quantization}"),
                                     quantization=quantization, overwrite=True))


# ----------------------------------------------------------------------------- methods (children)


def _prompts(data: Path, model_dir: Path, max_length: int) -> list[str]:
    """The prompt texts `run` builds (plan.policy.ModelInputs), for the baselines (not timed)."""
    from crashtransformer.data.records import CrashRecord, iter_records
    from crashtransformer.models.loading import load_config, load_tokenizer
    from crashtransformer.plan.policy import ModelInputs
    from crashtransformer.plan.prompt import model_family

    inputs = ModelInputs(load_tokenizer(str(model_dir)), model_family(load_config(str(model_dir))), max_length)
    records = [r for r in iter_records(data) if isinstance(r, CrashRecord)]
    return [model_input.text for model_input in inputs.build_all(records)[1]]


def _state_dict_bytes(model) -> int:
    import torch

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.tell()


def method_pipeline(args, dynamic_int8: bool) -> dict:
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    prompts = _prompts(args.data, args.model_dir, args.max_length)
    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(args.model_dir)
    model = AutoModelForSeq2SeqLM.from_pretrained(args.model_dir).eval()
    if dynamic_int8:
        model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    outputs = []
    with torch.no_grad():
        for start in range(0, len(prompts), args.batch_size):
            batch = tokenizer(prompts[start:start + args.batch_size], truncation=True, max_length=args.max_length,
                              padding=True, return_tensors="pt")
            generated = model.generate(**batch, num_beams=args.num_beams, max_new_tokens=args.max_new_tokens,
                                       no_repeat_ngram_size=args.no_repeat_ngram_size,
                                       early_stopping=args.num_beams > 1)
            outputs.extend(t.strip() for t in tokenizer.batch_decode(generated, skip_special_tokens=True))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "outputs": outputs, "size_bytes": _state_dict_bytes(model)}


def method_run(args, backend: str, model_dir: Path) -> dict:
    from crashtransformer.core.config import RunConfig, build_config
    from crashtransformer.core.logs import setup_logging
    from crashtransformer.run.pipeline import run
    import crashtransformer.run.crash  # noqa: F401  (imported untimed, as the baseline's modules are)
    import torch  # noqa: F401
    import transformers  # noqa: F401

    setup_logging(args.workdir / "logs", "WARNING")
    out = args.workdir / f"out-{backend}-{model_dir.name}-{time.time_ns()}"
    cfg = build_config(RunConfig, dict(csv=[str(args.data)], model=str(model_dir), backend=backend, out_dir=str(out), num_samples=0,
                    batch_size=args.ours_batch_size, num_beams=args.num_beams, num_candidates=1,
                    max_new_tokens=args.max_new_tokens, no_repeat_ngram_size=args.no_repeat_ngram_size,
                    max_length=args.max_length))
    started = time.perf_counter()
    run(cfg)
    seconds = time.perf_counter() - started
    rows = sorted((json.loads(line) for line in (out / "crash_summaries.jsonl").read_text().splitlines()),
                  key=lambda row: row["Crash_ID"])
    return {"seconds": seconds, "outputs": [row["best_summary"] for row in rows]}


def child(args) -> None:
    if args.method.startswith("pipeline"):
        result = method_pipeline(args, dynamic_int8=args.method == "pipeline-dynamic-int8")
    elif args.method == "run-torch":
        result = method_run(args, "torch", args.model_dir)
    else:
        result = method_run(args, "ctranslate2", args.export_dir)
    result["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(result))


# ----------------------------------------------------------------------------- parent


def _spawn(method: str, args, export_dir: Path | None = None) -> dict:
    command = [sys.executable, __file__, "child", "--method", method, "--data", str(args.data),
               "--model_dir", str(args.model_dir), "--export_dir", str(export_dir or ""),
               "--workdir", str(args.workdir), "--num_beams", str(args.num_beams),
               "--max_new_tokens", str(args.max_new_tokens), "--batch_size", str(args.batch_size),
               *(["--ours_batch_size", str(args.ours_batch_size)] if args.ours_batch_size else []),
               "--max_length", str(args.max_length), "--no_repeat_ngram_size", str(args.no_repeat_ngram_size)]
    done = subprocess.run(command, capture_output=True, text=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})
    if done.returncode != 0:
        sys.exit(f"{method} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _rouge_l(predictions: list[str], references: list[str]) -> float:
    from crashtransformer.metrics.text import rouge_scores

    return 100 * rouge_scores(predictions, references)["rougeL_f1"]


def compare(args) -> None:
    import pandas as pd

    from crashtransformer.models.loading import input_limit, load_config

    with tempfile.TemporaryDirectory() as tmp:
        args.workdir = Path(tmp)
        args.data, references = _prepare_data(Path(args.source), args.rows, args.workdir)
        args.model_dir = _prepare_model(args.model, args.workdir)
        args.max_length = input_limit(load_config(str(args.model_dir)), args.max_length)  # as `run` caps it
        exports = {q: _export(args.model_dir, q, args.workdir) for q in ("float32", "int8")}
        rows = len(pd.read_csv(args.data))
        source_bytes = sum(f.stat().st_size for f in args.model_dir.glob("*.safetensors"))
        print(f"{rows} narratives from {args.source}; model {args.model or 'fresh bart-small (init-model, untrained)'}; "
              f"beams {args.num_beams}, max_new_tokens {args.max_new_tokens}, baseline batch size {args.batch_size}, "
              f"run's {args.ours_batch_size or 'chosen for the device'}, "
              f"{os.cpu_count()} cores")
        results = {}
        for method in args.methods:
            quantization = method.rsplit("-", 1)[-1]
            results[method] = _spawn(method, args, exports.get(quantization) if method.startswith("run-ct2") else None)
            sizes = {"run-ct2-float32": exports["float32"], "run-ct2-int8": exports["int8"]}
            if method in sizes:
                results[method]["size_bytes"] = (sizes[method] / "model.bin").stat().st_size
            elif method == "run-torch":
                results[method]["size_bytes"] = source_bytes
        _table(results, references, rows)


def _table(results: dict, references: list[str], rows: int) -> None:
    base = rows / results["pipeline"]["seconds"] if "pipeline" in results else None
    anchor = results.get("run-torch", results.get("pipeline"))["outputs"]
    print("| method | crashes/s | vs pipeline | peak RSS MB | size on disk MB | ROUGE-L vs refs | "
          "ROUGE-L vs torch | same text as torch |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for method, result in results.items():
        rate = rows / result["seconds"]
        same = sum(a == b for a, b in zip(result["outputs"], anchor)) / rows
        ratio = f"{rate / base:.2f}x" if base else "-"
        print(f"| {method} | {rate:.2f} | {ratio} | {result['peak_rss_mb']:.0f} | {result['size_bytes'] / 1e6:.1f} | "
              f"{_rouge_l(result['outputs'], references):.2f} | {_rouge_l(result['outputs'], anchor):.2f} | "
              f"{same:.1%} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    one = sub.add_parser("child")
    one.add_argument("--method", required=True, choices=METHODS)
    one.add_argument("--data", type=Path, required=True)
    one.add_argument("--model_dir", type=Path, required=True)
    one.add_argument("--export_dir", type=Path)
    one.add_argument("--workdir", type=Path, required=True)
    for p in (parser, one):
        p.add_argument("--num_beams", type=int, default=1)
        p.add_argument("--max_new_tokens", type=int, default=64)
        p.add_argument("--batch_size", type=int, default=8, help="the baseline's batch size (what a user writes)")
        p.add_argument("--ours_batch_size", type=int, help="run's --batch_size (default: chosen for the device)")
        p.add_argument("--max_length", type=int, default=512)
        p.add_argument("--no_repeat_ngram_size", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--source", default=str(CRIS), help="CSV/JSONL with narratives and reference summaries")
    parser.add_argument("--model", help="model directory (default: a fresh, untrained init-model small BART)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    args = parser.parse_args()
    if args.command == "child":
        child(args)
    else:
        compare(args)


if __name__ == "__main__":
    main()
