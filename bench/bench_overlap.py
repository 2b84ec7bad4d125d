"""`run` with its CPU steps beside generation (`--preprocessing_num_workers N`, run/overlap.py)
against `run` in one process, side by side on the same crashes, model and settings.

    python bench/bench_overlap.py                              # 1,000 CRIS narratives, 0 vs 1 vs 2 workers
    python bench/bench_overlap.py --rows 300 --workers 0 2 --device cuda --chunk_size 2048

Each setting is the whole `run` command in a fresh process (worker start-up included) into its
own --out_dir; reported: wall seconds, crashes/s, the ratio to 0 workers, and whether
crash_summaries.jsonl, crash_graphs.jsonl and summaries_metrics.csv are the 0-worker run's line
for line. Needs ../shared/data (real narratives); the model is the shipped default.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CRIS = REPO.parent / "shared" / "data" / "cris_narratives_llm_summaries.csv"
COMPARED = ("crash_summaries.jsonl", "crash_graphs.jsonl", "summaries_metrics.csv")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000, help="CRIS narratives summarized by each setting")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2], help="--preprocessing_num_workers values")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--chunk_size", type=int, default=None, help="default: run's own for the device")
    parser.add_argument("--model", default=None, help="default: the shipped default model")
    parser.add_argument("--narratives", type=Path, default=CRIS, help="CSV with a Narrative (and summary) column")
    return parser.parse_args()


def _write_rows(out: Path, rows: int, narratives: Path) -> Path:
    import pandas as pd

    if not narratives.is_file():
        sys.exit(f"needs {narratives} (real narratives; or --narratives FILE); absent here")
    frame = pd.read_csv(narratives, dtype=str).head(rows)
    path = out / "crashes.csv"
    frame.insert(0, "Crash_ID", [f"CRIS-{i}" for i in range(len(frame))])
    frame.to_csv(path, index=False)
    return path


def _run(data: Path, out: Path, workers: int, args) -> dict:
    command = [sys.executable, str(REPO / "crashtransformer.py"), "--log_dir", str(out.parent / "logs"), "run",
               "--csv", str(data), "--out_dir", str(out), "--device", args.device,
               "--preprocessing_num_workers", str(workers)]
    command += ["--chunk_size", str(args.chunk_size)] if args.chunk_size else []
    command += ["--model", args.model] if args.model else []
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    seconds = time.perf_counter() - started
    if result.returncode not in (0, 3):
        sys.exit(f"run with {workers} workers failed ({result.returncode}):\n{result.stderr[-3000:]}")
    report = json.loads((out / "run_report.json").read_text())
    return {"workers": workers, "seconds": seconds, "summarized": report["counts"]["summarized"],
            "crashes_per_s": report["counts"]["summarized"] / seconds}


def _same_as(out: Path, reference: Path) -> bool:
    return all((out / name).read_bytes() == (reference / name).read_bytes() for name in COMPARED)


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = _write_rows(work, args.rows, args.narratives)
        results = []
        for workers in args.workers:
            results.append(_run(data, work / f"out-{workers}", workers, args))
            results[-1]["same"] = _same_as(work / f"out-{workers}", work / f"out-{args.workers[0]}")
    base = results[0]
    print(f"{args.rows} narratives of {args.narratives.name}, device {args.device}, {os.cpu_count()} cores; the whole `run` command, "
          "worker start-up included")
    print(f"{'workers':>8}{'seconds':>10}{'crashes/s':>11}{'ratio':>8}  artifacts as with {base['workers']}")
    for row in results:
        print(f"{row['workers']:>8}{row['seconds']:10.1f}{row['crashes_per_s']:11.2f}"
              f"{row['crashes_per_s'] / base['crashes_per_s']:8.2f}  {'identical' if row['same'] else 'DIFFER'}")


if __name__ == "__main__":
    main()
