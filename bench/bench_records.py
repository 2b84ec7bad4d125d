"""Benchmark of the record reader and the duplicate finder on the real CISS/CRIS exports.

    python bench/bench_records.py [--repeat 3]

Reading: records.iter_records (streams, maps columns, validates, cleans, rejects bad rows) against
what a user would otherwise write, pandas.read_csv(chunksize=10_000, dtype=str) with no checks.
Duplicates: splitting.DuplicateFinder (MinHash LSH, streaming) against the exact all-pairs word
3-gram Jaccard it approximates, on the first 1,500 CRIS narratives plus 150 copies with every
8th/12th/20th/40th word changed: time, and recall of the exact pairs at 0.8 and 0.6.
"""

from __future__ import annotations

import argparse
import sys
import time
from itertools import combinations
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data"

from crashtransformer.data.records import CrashRecord, iter_records  # noqa: E402
from crashtransformer.data.splitting import DuplicateFinder, normalize_for_matching  # noqa: E402


def best_of(repeat: int, function) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def bench_reading(path: Path, repeat: int) -> None:
    import pandas as pd

    def ours() -> int:
        return sum(isinstance(item, CrashRecord) for item in iter_records(path))

    def pandas_baseline() -> int:
        return sum(len(chunk) for chunk in pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=10_000))

    ours_s, rows = best_of(repeat, ours)
    base_s, base_rows = best_of(repeat, pandas_baseline)
    print(f"{path.name}: iter_records {rows} rows in {ours_s:.2f}s ({rows / ours_s:,.0f} rows/s); "
          f"pandas chunks {base_rows} rows in {base_s:.2f}s ({base_rows / base_s:,.0f} rows/s); "
          f"ratio ours/pandas time {ours_s / base_s:.2f}x")


def _shingles(text: str) -> set[str]:
    words = normalize_for_matching(text).split()
    return {" ".join(words[i:i + 3]) for i in range(max(1, len(words) - 2))}


def bench_duplicates(path: Path, limit: int = 1500) -> None:
    import random

    texts = [r.narrative for r in iter_records(path) if isinstance(r, CrashRecord)][:limit]
    rng = random.Random(0)
    for index in rng.sample(range(len(texts)), limit // 10):  # near copies: 1 word in `step` changed
        words, step = texts[index].split(), rng.choice((8, 12, 20, 40))
        texts.append(" ".join("zz" if i % step == step - 1 else w for i, w in enumerate(words)))
    start = time.perf_counter()
    sets = [_shingles(t) for t in texts]
    exact_pairs = {}
    for (i, a), (j, b) in combinations(enumerate(sets), 2):
        similarity = len(a & b) / len(a | b)
        if similarity >= 0.6:
            exact_pairs[(i, j)] = similarity
    exact_s = time.perf_counter() - start
    for threshold in (0.8, 0.6):
        start = time.perf_counter()
        finder = DuplicateFinder(threshold)
        for text in texts:
            finder.add(text)
        ours_s = time.perf_counter() - start
        groups = finder.groups()
        truth = [pair for pair, s in exact_pairs.items() if s >= threshold]
        found = sum(groups[i] == groups[j] for i, j in truth)
        print(f"duplicates >= {threshold} on {len(texts)} narratives: exact all-pairs {len(truth)} pairs in "
              f"{exact_s:.1f}s; MinHash LSH grouped {found}/{len(truth)} of them, flagged {len(finder.matches)} rows, "
              f"in {ours_s:.2f}s; speed-up {exact_s / ours_s:.0f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for name in ("ciss_narratives_2017_2020.csv", "cris_narratives_llm_summaries.csv"):
        if not (DATA / name).is_file():
            sys.exit(f"needs ../shared/data/{name}")
        bench_reading(DATA / name, args.repeat)
    bench_duplicates(DATA / "cris_narratives_llm_summaries.csv")


if __name__ == "__main__":
    main()
