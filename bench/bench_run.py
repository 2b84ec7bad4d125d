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
Model: the shipped default model (a fresh untrained BART-small when it is absent), or with
--model_size small|base-like a fresh model of that init-model shape (random weights: both sides
are made to write exactly --max_new_tokens tokens, min_new_tokens = max_new_tokens in the
model's generation_config.json, so tokens/s compare).

Each row also reports generated tokens/s and, on a GPU, peak GPU memory and the share reached of
the HBM-bandwidth bound (bench/roofline.py decode_bandwidth_bound: every decoding step reads the
decoder weights once and each sequence's KV caches, at that method's batch size and dtype).
--preprocessing_num_workers and --max_batch_tokens go to `run` (the ours rows) when given.

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
    python bench/bench_run.py --device cuda --model_size base-like --max_new_tokens 64
    python bench/bench_run.py --narratives synthetic.csv   # any CSV with a Narrative column
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
from workload import CRIS, fix_length, prepare, prompts as model_prompts, source_tokens  # noqa: E402 (bench/ on sys.path)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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
    for name in ("preprocessing_num_workers", "max_batch_tokens"):  # given: passed through to run
        if getattr(args, name, None) is not None:
            settings[name] = getattr(args, name)
    if args.method == "ours-defaults":  # nothing but the input, the model and the output directory
        settings = {key: settings[key] for key in ("csv", "model", "out_dir")}
    cfg = build_config(RunConfig, settings)
    started = time.perf_counter()
    run(cfg)
    seconds = time.perf_counter() - started
    peak = _peak_rss_mb()  # before reading the outputs back, which is the benchmark's memory, not run's
    report = json.loads((out / "run_report.json").read_text())
    measured = {"seconds": seconds, "peak_rss_mb": peak,
                "generated_tokens": report["throughput"].get("generated_tokens"),
                "peak_gpu_mb": report.get("memory", {}).get("peak_gpu_mb"),
                "batch_size": report.get("device", {}).get("batch_size"),
                "dtype": report.get("device", {}).get("dtype")}
    if args.skip_outputs:
        return {**measured, "outputs": []}
    rows = [json.loads(line) for line in (out / "crash_summaries.jsonl").read_text().splitlines()]
    rows.sort(key=lambda row: row["Crash_ID"])
    return {**measured, "outputs": [row["best_summary"] for row in rows]}


def method_baseline(args, batch_size: int) -> dict:
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    prompts = model_prompts(args.data, args.model_dir, args.max_length)
    _warm_imports(args.model_dir)
    cuda = args.device.startswith("cuda")
    started = time.perf_counter()  # model loading is timed for both: `run` loads its model too
    tokenizer = AutoTokenizer.from_pretrained(args.model_dir)
    model = AutoModelForSeq2SeqLM.from_pretrained(args.model_dir).eval().to(args.device)  # pipeline(device=0): fp32
    fixed = dict(min_new_tokens=model.generation_config.min_new_tokens) if args.fixed_length else {}  # _fix_length's
    outputs = []
    with torch.no_grad():
        for start in range(0, len(prompts), batch_size):
            batch = tokenizer(prompts[start:start + batch_size], truncation=True, max_length=args.max_length,
                              padding=True, return_tensors="pt").to(args.device)
            generated = model.generate(**batch, num_beams=args.num_beams, max_new_tokens=args.max_new_tokens,
                                       no_repeat_ngram_size=0, early_stopping=args.num_beams > 1, **fixed)
            outputs.extend(t.strip() for t in tokenizer.batch_decode(generated, skip_special_tokens=True))
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    # counted as run counts them (infer/summarizer.py): the summaries re-tokenized, no special tokens
    tokens = sum(len(ids) for ids in tokenizer(outputs, add_special_tokens=False)["input_ids"]) if outputs else 0
    return {"seconds": seconds, "outputs": outputs, "generated_tokens": tokens, "batch_size": batch_size,
            "dtype": "float32", "peak_gpu_mb": torch.cuda.max_memory_allocated() / 2**20 if cuda else None}


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


class MethodFailed(RuntimeError):
    """A method's child process exited with an error."""


def _spawn(method: str, args, num_beams: int, fatal: bool = True) -> dict:
    """The child's result; a failure ends the benchmark, or with fatal=False raises MethodFailed
    (compare reports the row and goes on: one GPU lease, every other row still counts)."""
    command = [sys.executable, __file__, "child", "--method", method, "--data", str(args.data),
               "--model_dir", str(args.model_dir), "--workdir", str(args.workdir), "--num_beams", str(num_beams),
               "--max_new_tokens", str(args.max_new_tokens), "--batch_size", str(args.batch_size),
               "--max_length", str(args.max_length), "--device", args.device, "--backend", args.backend]
    if args.ours_batch_size:
        command += ["--ours_batch_size", str(args.ours_batch_size)]
    if args.skip_outputs:
        command.append("--skip_outputs")
    if getattr(args, "fixed_length", False):
        command.append("--fixed_length")
    for name in ("preprocessing_num_workers", "max_batch_tokens"):
        if getattr(args, name, None) is not None:
            command += [f"--{name}", str(getattr(args, name))]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if done.returncode != 0:
        if not fatal:
            print(f"{method} failed (beams {num_beams}):\n{done.stderr[-3000:]}", file=sys.stderr)
            lines = done.stderr.strip().splitlines() or [f"exit {done.returncode}"]
            raise MethodFailed(lines[-1][:80])
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


def _roofline_columns(result: dict, args, beams: int, model_config, source: float | None, spec) -> tuple:
    """(generated tokens/s, peak GPU MB, the bound's tokens/s) of one method's result."""
    from roofline import crashes_per_batch, decode_bandwidth_bound

    tokens = args.rows * args.max_new_tokens if args.fixed_length else result.get("generated_tokens")
    rate = tokens / result["seconds"] if tokens else None
    bound = None
    if spec is not None and source is not None and tokens:
        new = tokens / args.rows
        width = 2 if "16" in str(result.get("dtype")) else 4  # bf16/fp16 autocast or fp32
        batch = crashes_per_batch(result.get("batch_size"), args.rows, beams, source, new)
        bound = decode_bandwidth_bound(model_config, batch, source, new, spec.hbm_bytes_per_s, num_beams=beams,
                                       weight_bytes=width, peak_flops=spec.bf16_flops if width == 2 else None)
        bound = bound["tokens_per_s"]
    return rate, result.get("peak_gpu_mb"), bound


def compare(args) -> None:
    from roofline import gpu_spec, share

    from crashtransformer.models.loading import load_config

    with tempfile.TemporaryDirectory() as tmp:
        args.workdir = Path(tmp)
        args.skip_outputs = False  # greedy outputs are compared string for string
        size = None if args.model_size == "shipped" else args.model_size
        args.data, args.model_dir = prepare(args.workdir, args.rows, args.model, args.narratives, size)
        args.fixed_length = size is not None  # random weights: every summary max_new_tokens long
        if args.fixed_length:
            fix_length(args.model_dir, args.max_new_tokens)
        args.max_length = _input_limit(args.model_dir, args.max_length)
        cuda = args.device.startswith("cuda")
        source = source_tokens(args.data, args.model_dir, args.max_length) if cuda else None
        model_config = load_config(str(args.model_dir))
        methods = ["pipeline", "one-by-one", "ours", "ours-torch"]
        if args.device.startswith("cuda"):  # one-by-one takes minutes on a GPU; fp32 shows what bf16 autocast buys
            methods = ["pipeline", "ours-fp32", "ours"]
        elif _export_ct2(args):
            methods.append("ours-ctranslate2")
        source_name = "CRIS" if args.narratives == CRIS else Path(args.narratives).name
        print(f"{args.rows} {source_name} narratives, model {args.model_dir} ({args.model_size}"
              f"{', random weights, fixed length' if args.fixed_length else ''}), max_new_tokens {args.max_new_tokens}, "
              f"pipeline batch size {args.batch_size}, ours {args.ours_batch_size or 'chosen for the device'}, "
              f"{os.cpu_count()} cores, device {args.device}"
              + (f", preprocessing_num_workers {args.preprocessing_num_workers}"
                 if args.preprocessing_num_workers is not None else "")
              + (f", max_batch_tokens {args.max_batch_tokens}" if args.max_batch_tokens is not None else ""))
        print(f"{'beams':>5} {'method':<24} {'crashes/s':>10} {'vs pipeline':>12} {'gen tok/s':>10} "
              f"{'peak RSS MB':>12} {'peak GPU MB':>12} {'bound tok/s':>12} {'of bound':>9} {'same text':>10}")
        spec = None
        gpu = None
        for beams in args.beams:
            results: dict[str, dict | MethodFailed] = {}
            for method in methods:
                try:
                    results[method] = _spawn(method, args, beams, fatal=False)
                except MethodFailed as failure:
                    results[method] = failure
            pipeline = results["pipeline"] if isinstance(results["pipeline"], dict) else None
            gpu = gpu or next((r["gpu"] for r in results.values() if isinstance(r, dict) and r.get("gpu")), None)
            spec = gpu_spec(gpu) if gpu else None
            base = args.rows / pipeline["seconds"] if pipeline else None
            for method, result in results.items():
                if isinstance(result, MethodFailed):
                    print(f"{beams:>5} {method:<24} failed: {result}", flush=True)
                    continue
                rate = args.rows / result["seconds"]
                same = sum(a == b for a, b in zip(result["outputs"], pipeline["outputs"])) / args.rows \
                    if pipeline else None
                tokens, gpu_mb, bound = _roofline_columns(result, args, beams, model_config, source, spec)
                print(f"{beams:>5} {method:<24} {rate:>10.2f} {f'{rate / base:.2f}x' if base else 'n/a':>12} "
                      f"{f'{tokens:.0f}' if tokens else 'n/a':>10} {result['peak_rss_mb']:>12.0f} "
                      f"{f'{gpu_mb:.0f}' if gpu_mb is not None else 'n/a':>12} "
                      f"{f'{bound:.0f}' if bound else 'n/a':>12} {share(tokens, bound):>9} "
                      f"{f'{same:.1%}' if same is not None else 'n/a':>10}", flush=True)
        if cuda:
            print(f"GPU: {gpu}; " + (f"HBM {spec.hbm_bytes_per_s / 1e12:.2f} TB/s, bf16 {spec.bf16_flops / 1e12:.0f} "
                                     f"TFLOP/s ({spec.source})" if spec else "not in bench/roofline.py GPU_SPECS"))
            print(f"bound: mean input {source:.0f} tokens, each method at its own batch size and dtype (fp32 4 bytes, "
                  "bf16 autocast 2 bytes a weight and cache entry); encoder pass and host work not in it")


def defaults(args) -> None:
    """`run` with its defaults vs a greedy generate loop, batches of 8, same model and prompts."""
    from crashtransformer.core.config import GenerationSettings

    with tempfile.TemporaryDirectory() as tmp:
        args.workdir, args.skip_outputs = Path(tmp), False
        args.data, args.model_dir = prepare(args.workdir, args.rows, args.model)
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
        _, args.model_dir = prepare(args.workdir, 10, args.model)
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
    one.add_argument("--fixed_length", action="store_true", help="min_new_tokens = max_new_tokens (random weights)")
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
        p.add_argument("--preprocessing_num_workers", type=int, help="run's --preprocessing_num_workers (ours rows)")
        p.add_argument("--max_batch_tokens", type=int, help="run's --max_batch_tokens (ours rows, cuda)")
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--beams", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--model", help="model directory (default: the shipped default model)")
    parser.add_argument("--model_size", default="shipped", choices=("shipped", "small", "base-like"),
                        help="shipped: --model or the shipped model; small/base-like: a fresh init-model BART of that "
                             "shape, random weights, summaries fixed at --max_new_tokens")
    parser.add_argument("--narratives", type=Path, default=CRIS,
                        help="CSV whose Narrative column is read (default: ../shared/data CRIS narratives)")
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
