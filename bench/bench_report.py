"""Benchmark of report.html and crash_summaries.csv (crashtransformer/run/html.py) as a run grows.

No model: `make_out_dir` writes the artifacts a `run` would (crash_summaries.jsonl,
crash_graphs.jsonl, rejects.csv, run_report.json) from synthetic crashes, their graphs from the
offline extractor and their "summaries" from the generator's reference summaries. Large sizes
repeat DISTINCT synthetic crashes under fresh Crash_IDs (extract_graph costs ~1 ms a crash).

For each size: the seconds `write_run_html` takes, the page's and the CSV's size, and the wall
time headless Chromium takes to load the page and run its script (`--dump-dom`, best of 2).

    python bench/bench_report.py                       # --sizes 1000 100000
    python bench/bench_report.py --sizes 300 5000 --keep /tmp/report-bench
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DISTINCT = 2000  # distinct synthetic crashes; more are repeats under new Crash_IDs
HALLUCINATION_RATE = 0.1  # share of crashes whose summary "invents a specific" (a flag)
SOURCE_FILE = "synthetic/crashes.csv"
REJECT_HEADER = ("source_file", "source_sha256", "row_number", "Crash_ID", "field", "reason", "detail", "raw_values")
_WORD = re.compile(r"[a-z0-9']+")


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _faithfulness(summary: str, narrative: str) -> tuple[float, float]:
    """Share of the summary's unigrams and bigrams found in the narrative (as the real metric means)."""
    said, source = _words(summary), _words(narrative)
    if not said:
        return 0.0, 0.0
    unigrams = set(source)
    bigrams = set(itertools.pairwise(source))
    pairs = list(itertools.pairwise(said))
    return (sum(w in unigrams for w in said) / len(said),
            sum(p in bigrams for p in pairs) / len(pairs) if pairs else 0.0)


def _distinct_crashes(count: int, seed: int, narratives: dict[int, str]) -> list[tuple[dict, dict]]:
    """(summary row, graph row) of `count` synthetic crashes; narratives[i] replaces crash i's."""
    from crashtransformer.plan.graph import extract_graph, extract_plan_lines
    from crashtransformer.prepare.synthetic.generator import generate_records

    pairs = []
    for index, record in enumerate(generate_records(count, seed=seed)):
        narrative = narratives.get(index, record.narrative)
        crash_id = record.crash_id
        graph = extract_graph(narrative, crash_id, {"raw_narrative": narrative})
        plan_lines = extract_plan_lines(narrative)
        rng = random.Random(f"{seed}:{index}:report")
        summary = record.summary or ""
        unigram, bigram = _faithfulness(summary, narrative)
        hallucinated = rng.random() < HALLUCINATION_RATE
        specifics = float(rng.randint(1, 4))
        coverage = round(rng.choice((0.0, 0.5, 1.0)), 4) if plan_lines else None
        candidates = [{"summary": summary, "score": round(unigram - 0.5 * hallucinated, 4), "model_score": None}]
        if index % 5 == 0:  # some crashes were summarized with two candidates
            shorter = summary.split(". ")[0].rstrip(".") + "."
            candidates.append({"summary": shorter, "score": round(candidates[0]["score"] - 0.05, 4),
                               "model_score": None})
        row = {
            "Crash_ID": crash_id, "plan_lines": plan_lines, "candidates": candidates, "best_summary": summary,
            "reference_summary": record.summary,
            "metrics": {"plan_coverage": coverage, "plan_factor_coverage": coverage, "plan_collision_coverage": coverage,
                        "faithfulness_unigram": unigram, "faithfulness_bigram": bigram,
                        "specifics_total": specifics, "hallucinated_specifics": 1.0 if hallucinated else 0.0,
                        "has_hallucinated_specific": 1.0 if hallucinated else 0.0,
                        "narrative_words": len(narrative.split())},
            "input_truncated": False, "narrative_original_chars": None, "source_file": SOURCE_FILE,
            "source_sha256": "0" * 64, "row_number": index + 1, "model": "synthetic (no model)",
            "model_fingerprint": "0000000000000000",
        }
        pairs.append((row, graph))
    return pairs


def _renamed(value, old: str, new: str):
    """`value` (a graph) with the ids under `old` (Crash_ID, "old:U1", ...) moved to `new`."""
    if isinstance(value, dict):
        return {key: _renamed(item, old, new) for key, item in value.items()}
    if isinstance(value, list):
        return [_renamed(item, old, new) for item in value]
    if isinstance(value, str) and (value == old or value.startswith(old + ":")):
        return new + value[len(old):]
    return value


def make_out_dir(path: str | Path, n: int, seed: int = 0, narratives: dict[int, str] | None = None,
                 distinct: int = DISTINCT) -> Path:
    """A `run` out_dir of `n` crashes without a model: crash_summaries.jsonl, crash_graphs.jsonl,
    rejects.csv (two rows) and run_report.json, shaped as a real run writes them.

    Crashes beyond `distinct` repeat the first `distinct` under new Crash_IDs (and row numbers).
    `narratives` maps a crash index (0-based, below `distinct`) to a narrative replacing its own.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    base = _distinct_crashes(min(n, distinct), seed, narratives or {})
    with open(path / "crash_summaries.jsonl", "w", encoding="utf-8") as summaries, \
            open(path / "crash_graphs.jsonl", "w", encoding="utf-8") as graphs:
        for index in range(n):
            row, graph = base[index % len(base)] if base else ({}, {})
            if index >= len(base):
                old, new = row["Crash_ID"], f"S{seed}-{index + 1:07d}"
                row = {**row, "Crash_ID": new, "row_number": index + 1}
                graph = _renamed(graph, old, new)
            graphs.write(json.dumps(graph, ensure_ascii=False) + "\n")
            summaries.write(json.dumps(row, ensure_ascii=False) + "\n")
    with open(path / "rejects.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(REJECT_HEADER)
        writer.writerow([SOURCE_FILE, "0" * 64, n + 1, f"S{seed}-R1", "Investigator_Narrative", "empty_narrative",
                         "the narrative is empty", json.dumps({"Crash_ID": f"S{seed}-R1", "Investigator_Narrative": ""})])
        writer.writerow([SOURCE_FILE, "0" * 64, n + 2, f"S{seed}-0000001", "Crash_ID", "duplicate_crash_id",
                         f"Crash_ID S{seed}-0000001 was seen before, at row 1",
                         json.dumps({"Crash_ID": f"S{seed}-0000001", "Investigator_Narrative": "Unit 1 ..."})])
    wall = max(time.perf_counter() - start, 1e-6)
    flagged = sum(1 for row, _ in base if row["metrics"]["has_hallucinated_specific"])
    report = {
        "counts": {"files_processed": 1, "files_skipped_already_done": 0, "rows_read": n + 2, "summarized": n,
                   "rejected": 2, "skipped_already_done": 0, "rejected_earlier": 0, "total_summarized_in_dir": n},
        "throughput": {"wall_seconds": round(wall, 2), "generation_seconds": 0.0,
                       "crashes_per_second": round(n / wall, 3), "generated_tokens": 0,
                       "generated_tokens_per_second": 0.0},
        "memory": {"peak_rss_mb": 0.0},
        "metrics": {"crashes": n, "with_reference": n,
                    "has_hallucinated_specific_mean": flagged / len(base) if base else 0.0},
        "config": {"csv": [SOURCE_FILE], "jsonl": [], "xlsx": None, "out_dir": str(path), "seed": seed},
        "versions": {"crashtransformer": "bench", "python": sys.version.split()[0]},
        "model": {"directory": "synthetic (no model: bench/bench_report.py)", "model_type": "none",
                  "backend": "none", "backend_reason": "summaries are the generator's references",
                  "quantization": None, "fingerprint": "0000000000000000"},
        "device": {"device": "cpu", "dtype": "float32", "batch_size": 0},
    }
    (path / "run_report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- browser


def find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def chromium_command(browser: str, profile: Path, *args: str) -> list[str]:
    """Headless Chromium with its own profile directory (runs in parallel never share one)."""
    return [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-dev-shm-usage", f"--user-data-dir={profile}", *args]


def dump_dom(browser: str, url: str, profile: Path, timeout: float = 120) -> tuple[str, float]:
    """The DOM after the page's scripts ran, and the wall seconds Chromium took."""
    start = time.perf_counter()
    result = subprocess.run(chromium_command(browser, profile, "--dump-dom", url),
                            capture_output=True, text=True, timeout=timeout, check=False)
    seconds = time.perf_counter() - start
    if result.returncode != 0 or "<html" not in result.stdout:
        raise RuntimeError(f"chromium exit {result.returncode}: {result.stderr[-2000:]}")
    return result.stdout, seconds


# ----------------------------------------------------------------------------- main


def bench_size(n: int, work: Path, browser: str | None) -> dict:
    from crashtransformer.run.html import write_run_html

    out_dir = work / f"run{n}"
    start = time.perf_counter()
    make_out_dir(out_dir, n)
    made = time.perf_counter() - start
    start = time.perf_counter()
    page, spreadsheet = write_run_html(out_dir)
    written = time.perf_counter() - start
    row = {"crashes": n, "make_s": made, "write_s": written, "page_mb": page.stat().st_size / 1e6,
           "csv_mb": spreadsheet.stat().st_size / 1e6, "load_s": None, "rows_in_dom": None}
    if browser:
        times = []
        for attempt in range(2):
            dom, seconds = dump_dom(browser, page.resolve().as_uri(), work / f"profile{n}-{attempt}")
            times.append(seconds)
        body = dom.split('id="crashes"', 1)[1].split("</table>", 1)[0]
        row.update(load_s=min(times), rows_in_dom=body.count("<tr") - 1)
    return row


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100000])
    parser.add_argument("--keep", help="write the out_dirs here (kept) instead of a temp dir")
    args = parser.parse_args(argv)
    browser = find_chromium()
    if not browser:
        print("chromium not found: load times are not measured", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench-report-") as temp:
        work = Path(args.keep) if args.keep else Path(temp)
        work.mkdir(parents=True, exist_ok=True)
        rows = [bench_size(n, work, browser) for n in args.sizes]
        if browser:  # the baseline: Chromium opening an empty page (its own start-up, no report)
            blank = work / "blank.html"
            blank.write_text("<!DOCTYPE html><title>blank</title>", encoding="utf-8")
            seconds = min(dump_dom(browser, blank.resolve().as_uri(), work / f"profile-blank-{k}")[1] for k in range(2))
            print(f"chromium opening an empty page: {seconds:.2f} s (included in each load time below)")
    print(f"{'crashes':>9} {'make s':>8} {'write_run_html s':>17} {'report.html MB':>15} {'csv MB':>8} "
          f"{'table rows':>11} {'chromium load s':>16}")
    for row in rows:
        load = f"{row['load_s']:.2f}" if row["load_s"] is not None else "–"
        shown = f"{row['rows_in_dom']:,}" if row["rows_in_dom"] is not None else "–"
        print(f"{row['crashes']:>9,} {row['make_s']:>8.1f} {row['write_s']:>17.2f} {row['page_mb']:>15.2f} "
              f"{row['csv_mb']:>8.2f} {shown:>11} {load:>16}")


if __name__ == "__main__":
    main()
