"""Soak of `run`: peak memory at growing row counts, and every Crash_ID exactly once at the end.

    python bench/bench_soak.py                           # 1k, 100k and 1M synthetic crashes
    python bench/bench_soak.py --rows 1000 20000         # a quick look

Each size is one `crashtransformer.py run` in a fresh process over one CSV of synthetic crashes
(prepare/synthetic, seeded), with a tiny BART built offline and the fastest generation settings:
the soak measures what `run` holds per row (the done index, the artifacts, the report), not the
model, so the model is kept as small as a real one is large. Peak RSS comes from wait4() on the
child. Then the check a nightly job needs: every input Crash_ID is in crash_summaries.jsonl or
rejects.csv, and none twice. The goal (issue 23): the 1M-row peak within 10% of the 1k-row peak.

The baseline a user would otherwise run is the same command; the ratio reported is peak RSS
against the 1k-row run.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crashtransformer.prepare.synthetic.generator import generate_records  # noqa: E402

FAST = ["--num_beams", "1", "--num_candidates", "1", "--num_samples", "0", "--max_new_tokens", "8"]


def crash_id(index: int) -> str:
    return f"SOAK-{index:07d}"


def write_crashes(path: Path, rows: int, seed: int) -> None:
    """`rows` synthetic crashes, streamed to disk (never held in memory)."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Crash_ID", "Narrative"])
        for index, record in enumerate(generate_records(rows, seed=seed)):
            writer.writerow([crash_id(index), record.narrative])


def tiny_model(work: Path) -> Path:
    """A tiny BART with a tokenizer trained on synthetic narratives (init-model, offline)."""
    corpus = work / "corpus.txt"
    corpus.write_text("\n".join(r.narrative for r in generate_records(2000, seed=1)) + "\n", encoding="utf-8")
    out = work / "tiny-bart"
    subprocess.run([sys.executable, str(REPO / "crashtransformer.py"), "--log_dir", str(work / "logs"), "init-model",
                    "--arch", "bart", "--size", "tiny", "--corpus", str(corpus), "--vocab_size", "800",
                    "--output", str(out)], check=True, stdout=subprocess.DEVNULL)
    return out


def run_once(data: Path, model: Path, out: Path, logs: Path, chunk_size: int) -> tuple[int, float, float]:
    """(exit code, seconds, peak RSS in MiB) of one `run` in a child process."""
    command = [sys.executable, str(REPO / "crashtransformer.py"), "--log_dir", str(logs), "--log_level", "WARNING",
               "run", "--csv", str(data), "--model", str(model), "--out_dir", str(out),
               "--chunk_size", str(chunk_size), *FAST]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    return os.waitstatus_to_exitcode(status), time.perf_counter() - started, usage.ru_maxrss / 1024


def exactly_once(out: Path, rows: int) -> dict:
    """Count each input Crash_ID over summaries and rejects, with one byte per row."""
    seen = bytearray(rows)
    strangers = 0
    with open(out / "crash_summaries.jsonl", encoding="utf-8") as handle:
        ids = [json.loads(line)["Crash_ID"] for line in handle]
    with open(out / "rejects.csv", encoding="utf-8", newline="") as handle:
        ids += [row["Crash_ID"] for row in csv.DictReader(handle)]
    for value in ids:
        if not value.startswith("SOAK-"):
            strangers += 1
            continue
        index = int(value[5:])
        seen[index] = min(seen[index] + 1, 255)
    del ids
    return {"missing": seen.count(0), "twice": rows - seen.count(0) - seen.count(1), "strangers": strangers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1000, 100_000, 1_000_000])
    parser.add_argument("--chunk_size", type=int, default=512)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work_dir", default=None, help="Keep inputs and outputs here (default: a temp dir).")
    parser.add_argument("--json", default=None, help="Also write the figures to this JSON file.")
    args = parser.parse_args()
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="ct-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    model = tiny_model(work)
    warm = work / "warm-up.csv"  # the first run converts the model for CTranslate2: not a cost of rows
    write_crashes(warm, 50, args.seed)
    run_once(warm, model, work / "out-warm-up", work / "logs", args.chunk_size)
    results = []
    for rows in args.rows:
        data, out = work / f"crashes-{rows}.csv", work / f"out-{rows}"
        write_crashes(data, rows, args.seed)
        shutil.rmtree(out, ignore_errors=True)
        code, seconds, peak = run_once(data, model, out, work / "logs", args.chunk_size)
        result = {"rows": rows, "exit_code": code, "seconds": round(seconds, 1), "crashes_per_s": round(rows / seconds, 1),
                  "peak_rss_mib": round(peak, 1), **exactly_once(out, rows)}
        results.append(result)
        print(json.dumps(result), flush=True)
        data.unlink()
    base = results[0]["peak_rss_mib"]
    print(f"\n{'rows':>9} {'exit':>4} {'seconds':>8} {'crashes/s':>9} {'peak RSS MiB':>12} {'vs first':>8} "
          f"{'missing':>7} {'twice':>5}")
    for r in results:
        print(f"{r['rows']:>9} {r['exit_code']:>4} {r['seconds']:>8} {r['crashes_per_s']:>9} {r['peak_rss_mib']:>12} "
              f"{r['peak_rss_mib'] / base:>8.3f} {r['missing']:>7} {r['twice']:>5}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
