"""`run` against what a user would otherwise write, side by side, same model and settings.

transformers 5 removed `pipeline("summarization")`; the baselines are what it did:
- pipeline-style: `model.generate` over batches in file order, padded per batch (what
  `pipeline("summarization", batch_size=B)` did), under torch.no_grad;
- one-by-one: batch size 1 (the pipeline's default, and the original CrashTransformer's loop).
Ours is the whole `run` command in-process: reading the CSV, crash graphs and plans, prompts,
length-sorted batches, generation, reranking, metrics and artifact writes all count against it.
The baselines get the same prompt texts, built beforehand and not timed, so greedy outputs
can be compared string for string. The pipeline runs at --batch_size (8: what a user writes);
`run` at its own device-chosen batch size unless --ours_batch_size says otherwise.
Rows on a CPU: `ours` is `run` as a user runs it (--backend auto: CTranslate2, the float32
conversion made inside the timed run into an empty cache), `ours-torch` is `run --backend torch`,
and `ours-ctranslate2` is `run --backend ctranslate2` on the model exported by `export` (int8).
With --device cuda: the pipeline on the GPU in fp32 (as pipeline(device=0) runs), `ours-fp32`
(`run --dtype fp32`) and `ours` (bf16 autocast, the default).
Model: the shipped default model (a fresh untrained BART-small when it is absent).

`defaults` is the issue-21 comparison: `run` exactly as a user runs it (every generation default:
candidates, hedges forbidden, claim checks, graph fallback) against a greedy `model.generate` loop
in batches of 8 over the same model and prompts, with run's own max_new_tokens (128).

Each method runs in a child process, so each peak RSS is its own.

    python bench/bench_run.py                       # 1,000 CRIS narratives, greedy and 4 beams
    python bench/bench_run.py --rows 200 --max_new_tokens 32
    python bench/bench_run.py defaults --rows 300   # `run` with every default vs a greedy generate loop
    python bench/bench_run.py memory --rows 1000 100000   # peak RSS of `run` vs input size
    python bench/bench_run.py memory --rows 1000 100000 --backend torch
    python bench/bench_run.py --device cuda --beams 1 4 --max_new_tokens 128   # on a GPU
"""

from __future__ import annotations

import argparse
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


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _prepare(workdir: Path, rows: int, model: str | None) -> tuple[Path, Path]:
    """A CSV of `rows` real narratives and a model (the shipped default model unless one is given;
    a fresh, untrained small BART when neither exists)."""
    import pandas as pd

    if not CRIS.is_file():
        sys.exit(f"needs {CRIS} (real narratives); absent here")
    frame = pd.read_csv(CRIS, dtype=str).head(rows)
    data = workdir / "crashes.csv"
    pd.DataFrame({"Crash_ID": [f"B{i:06d}" for i in range(len(frame))], "Narrative": frame["Narrative"]}).to_csv(
        data, index=False)
    from crashtransformer.run.pipeline import DEFAULT_MODEL_DIR

    if model or (DEFAULT_MODEL_DIR / "config.json").is_file():
        return data, Path(model or DEFAULT_MODEL_DIR)
    from crashtransformer.data.corpus import read_corpus_texts
    from crashtransformer.models.building import build_model

    return data, build_model("bart", "small", read_corpus_texts([str(CRIS)]), workdir / "model")


def _prompts(data: Path, model_dir: Path, max_length: int) -> list[str]:
    """The prompt texts `run` builds (plan.policy.ModelInputs), for the baselines (not timed)."""
    from crashtransformer.data.records import CrashRecord, iter_records
    from crashtransformer.models.loading import load_config, load_tokenizer
    from crashtransformer.plan.policy import ModelInputs
    from crashtransformer.plan.prompt import model_family

    inputs = ModelInputs(load_tokenizer(str(model_dir)), model_family(load_config(str(model_dir))), max_length)
    records = [r for r in iter_records(data) if isinstance(r, CrashRecord)]
    return [model_input.text for model_input in inputs.build_all(records)[1]]


# ----------------------------------------------------------------------------- methods (children)


def _warm_imports(model_dir: Path) -> None:
    """Import torch, transformers and the model's module before the clock starts, for every
    method alike: a one-off cost of any Python process, not of the method."""
    import torch  # noqa: F401
    from transformers import AutoConfig, AutoModelForSeq2SeqLM

    AutoModelForSeq2SeqLM._model_mapping[type(AutoConfig.from_pretrained(model_dir))]


def method_ours(args) -> dict:
    from crashtransformer.core.config import RunConfig, build_config
    from crashtransformer.core.logs import setup_logging
    from crashtransformer.run.pipeline import run
    import crashtransformer.run.crash  # noqa: F401  (the pipeline's own modules, imported untimed)

    _warm_imports(args.model_dir)

    setup_logging(args.workdir / "logs", "WARNING")
    # an empty cache each time: the float32 conversion `run --backend auto` makes is timed in every row
    os.environ["CRASHTRANSFORMER_CACHE"] = str(args.workdir / f"cache-{time.time_ns()}")
    out = args.workdir / f"out-{args.num_beams}-{time.time_ns()}"
    exported = args.method == "ours-ctranslate2"
    dtype = "fp32" if args.method == "ours-fp32" else "auto"
    backend = {"ours-ctranslate2": "ctranslate2", "ours-torch": "torch"}.get(args.method, args.backend)
    settings = dict(csv=[str(args.data)], model=str(args.workdir / "ct2" if exported else args.model_dir),
                    out_dir=str(out), batch_size=args.ours_batch_size, backend=backend,
                    device=args.device, dtype=dtype,
                    num_beams=args.num_beams, num_candidates=1, num_samples=0, max_new_tokens=args.max_new_tokens,
                    no_repeat_ngram_size=0, max_length=args.max_length)
    if args.method == "ours-defaults":  # nothing but the input, the model and the output directory
        settings = {key: settings[key] for key in ("csv", "model", "out_dir")}
    cfg = build_config(RunConfig, settings)
    started = time.perf_counter()
    run(cfg)
    seconds = time.perf_counter() - started
    peak = _peak_rss_mb()  # before reading the outputs back, which is the benchmark's memory, not run's
    if args.skip_outputs:
        return {"seconds": seconds, "outputs": [], "peak_rss_mb": peak}
    rows = [json.loads(line) for line in (out / "crash_summaries.jsonl").read_text().splitlines()]
    rows.sort(key=lambda row: row["Crash_ID"])
    return {"seconds": seconds, "outputs": [row["best_summary"] for row in rows], "peak_rss_mb": peak}


def method_baseline(args, batch_size: int) -> dict:
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    prompts = _prompts(args.data, args.model_dir, args.max_length)
    _warm_imports(args.model_dir)
    started = time.perf_counter()  # model loading is timed for both: `run` loads its model too
    tokenizer = AutoTokenizer.from_pretrained(args.model_dir)
    model = AutoModelForSeq2SeqLM.from_pretrained(args.model_dir).eval().to(args.device)  # pipeline(device=0): fp32
    outputs = []
    with torch.no_grad():
        for start in range(0, len(prompts), batch_size):
            batch = tokenizer(prompts[start:start + batch_size], truncation=True, max_length=args.max_length,
                              padding=True, return_tensors="pt").to(args.device)
            generated = model.generate(**batch, num_beams=args.num_beams, max_new_tokens=args.max_new_tokens,
                                       no_repeat_ngram_size=0, early_stopping=args.num_beams > 1)
            outputs.extend(t.strip() for t in tokenizer.batch_decode(generated, skip_special_tokens=True))
    return {"seconds": time.perf_counter() - started, "outputs": outputs}


def child(args) -> None:
    if args.method.startswith("ours"):
        result = method_ours(args)
    else:
        result = method_baseline(args, args.batch_size if args.method == "pipeline" else 1)
    result.setdefault("peak_rss_mb", _peak_rss_mb())
    result["gpu"] = _gpu_name()
    print(json.dumps(result))


def _gpu_name() -> str | None:
    import torch

    return torch.cuda.get_device_name() if torch.cuda.is_available() else None


# ----------------------------------------------------------------------------- parent


def _spawn(method: str, args, num_beams: int) -> dict:
    command = [sys.executable, __file__, "child", "--method", method, "--data", str(args.data),
               "--model_dir", str(args.model_dir), "--workdir", str(args.workdir), "--num_beams", str(num_beams),
               "--max_new_tokens", str(args.max_new_tokens), "--batch_size", str(args.batch_size),
               "--max_length", str(args.max_length), "--device", args.device, "--backend", args.backend]
    if args.ours_batch_size:
        command += ["--ours_batch_size", str(args.ours_batch_size)]
    if args.skip_outputs:
        command.append("--skip_outputs")
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if done.returncode != 0:
        sys.exit(f"{method} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _input_limit(model_dir: Path, requested: int) -> int:
    """--max_length capped at the model's position table, as `run` caps it (the baseline too)."""
    from crashtransformer.models.loading import input_limit, load_config

    return input_limit(load_config(str(model_dir)), requested)


def _export_ct2(args) -> bool:
    """`export` the model (int8, the CPU default) for the CTranslate2 row; False when unavailable."""
    import importlib.util

    if importlib.util.find_spec("ctranslate2") is None:
        print("ctranslate2 not installed: no CTranslate2 row")
        return False
    subprocess.run([sys.executable, str(REPO / "crashtransformer.py"), "--log_level", "WARNING", "export",
                    "--model", str(args.model_dir), "--output", str(args.workdir / "ct2")], check=True,
                   capture_output=True)
    return True


def compare(args) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        args.workdir = Path(tmp)
        args.skip_outputs = False  # greedy outputs are compared string for string
        args.data, args.model_dir = _prepare(args.workdir, args.rows, args.model)
        args.max_length = _input_limit(args.model_dir, args.max_length)
        methods = ["pipeline", "one-by-one", "ours", "ours-torch"]
        if args.device.startswith("cuda"):  # one-by-one takes minutes on a GPU; fp32 shows what bf16 autocast buys
            methods = ["pipeline", "ours-fp32", "ours"]
        elif _export_ct2(args):
            methods.append("ours-ctranslate2")
        print(f"{args.rows} CRIS narratives, model {args.model_dir}, max_new_tokens {args.max_new_tokens}, "
              f"pipeline batch size {args.batch_size}, ours {args.ours_batch_size or 'chosen for the device'}, "
              f"{os.cpu_count()} cores, device {args.device}")
        print(f"{'beams':>5} {'method':<24} {'crashes/s':>10} {'vs pipeline':>12} {'peak RSS MB':>12} {'same text':>10}")
        for beams in args.beams:
            results = {m: _spawn(m, args, beams) for m in methods}
            base = args.rows / results["pipeline"]["seconds"]
            for method, result in results.items():
                rate = args.rows / result["seconds"]
                same = sum(a == b for a, b in zip(result["outputs"], results["pipeline"]["outputs"]))
                print(f"{beams:>5} {method:<24} {rate:>10.2f} {rate / base:>11.2f}x {result['peak_rss_mb']:>12.0f} "
                      f"{same / args.rows:>10.1%}")
        if args.device.startswith("cuda"):
            print(f"GPU: {results['pipeline']['gpu']}")


def defaults(args) -> None:
    """`run` with its defaults vs a greedy generate loop, batches of 8, same model and prompts."""
    from crashtransformer.core.config import GenerationSettings

    with tempfile.TemporaryDirectory() as tmp:
        args.workdir, args.skip_outputs = Path(tmp), False
        args.data, args.model_dir = _prepare(args.workdir, args.rows, args.model)
        args.max_length = _input_limit(args.model_dir, args.max_length)
        args.max_new_tokens = GenerationSettings().max_new_tokens  # the loop writes summaries as long as run may
        results = {m: _spawn(m, args, 1) for m in ("pipeline", "ours-defaults")}
        base = args.rows / results["pipeline"]["seconds"]
        print(f"{args.rows} CRIS narratives, model {args.model_dir}, {os.cpu_count()} cores, max_new_tokens "
              f"{args.max_new_tokens}")
        print(f"{'method':<44} {'crashes/s':>10} {'vs loop':>8}")
        names = {"pipeline": "greedy model.generate loop, batches of 8", "ours-defaults": "run, all defaults"}
        for method, result in results.items():
            rate = args.rows / result["seconds"]
            print(f"{names[method]:<44} {rate:>10.2f} {rate / base:>7.2f}x")


def memory(args) -> None:
    """Peak RSS of `run` for small and large synthetic inputs: streaming keeps it flat."""
    from crashtransformer.prepare.synthetic.generator import generate_records
    from crashtransformer.data.writers import write_records

    with tempfile.TemporaryDirectory() as tmp:
        args.workdir = Path(tmp)
        _, args.model_dir = _prepare(args.workdir, 10, args.model)
        args.num_beams, args.max_new_tokens = 1, 2  # memory, not speed: generate as little as possible
        args.skip_outputs = True  # the outputs are not compared here; reading 100k rows back is not run's memory
        for rows in args.rows_list:
            args.data = args.workdir / f"synthetic-{rows}.csv"
            write_records(generate_records(rows, seed=5), args.data)
            result = _spawn("ours", args, 1)
            print(f"{rows:>8} rows, backend {args.backend}: peak RSS {result['peak_rss_mb']:.0f} MB, "
                  f"{rows / result['seconds']:.1f} crashes/s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    one = sub.add_parser("child")
    one.add_argument("--method", required=True)
    one.add_argument("--data", type=Path, required=True)
    one.add_argument("--model_dir", type=Path, required=True)
    one.add_argument("--workdir", type=Path, required=True)
    one.add_argument("--skip_outputs", action="store_true", help="do not read the outputs back (memory runs)")
    for p in (parser, one):
        p.add_argument("--num_beams", type=int, default=1)
        p.add_argument("--max_new_tokens", type=int, default=48)
        p.add_argument("--batch_size", type=int, default=8)
        p.add_argument("--max_length", type=int, default=512)
        p.add_argument("--ours_batch_size", type=int, help="run's --batch_size (default: chosen for the device)")
        p.add_argument("--backend", default="auto", help="run's --backend for the `ours` row (auto: CTranslate2 "
                                                          "on a CPU, converting the model inside the timed run)")
        p.add_argument("--device", default="cpu", help="cpu, or cuda: the pipeline moved to the GPU (fp32, as "
                                                       "pipeline(device=0) does) against run's bf16 autocast and fp32")
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--beams", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--model", help="model directory (default: a fresh init-model small BART)")
    dfl = sub.add_parser("defaults")
    dfl.add_argument("--rows", type=int, default=300)
    dfl.add_argument("--model", help="model directory (default: the shipped default model)")
    dfl.add_argument("--batch_size", type=int, default=8)
    dfl.add_argument("--max_length", type=int, default=512)
    dfl.add_argument("--device", default="cpu")
    dfl.add_argument("--backend", default="auto")
    dfl.add_argument("--ours_batch_size", type=int)
    mem = sub.add_parser("memory")
    mem.add_argument("--rows", dest="rows_list", type=int, nargs="+", default=[1000, 100_000])
    mem.add_argument("--model")
    mem.add_argument("--batch_size", type=int, default=32)
    mem.add_argument("--ours_batch_size", type=int, help="run's --batch_size (default: chosen for the device)")
    mem.add_argument("--max_length", type=int, default=512)
    mem.add_argument("--device", default="cpu")
    mem.add_argument("--backend", default="auto", help="run's --backend (auto: CTranslate2 on a CPU)")
    args = parser.parse_args()
    if args.command == "child":
        child(args)
    elif args.command == "memory":
        memory(args)
    elif args.command == "defaults":
        defaults(args)
    else:
        compare(args)


if __name__ == "__main__":
    main()
