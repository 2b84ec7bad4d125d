"""Benchmark of the synthetic crash generator (crashtransformer/prepare/synthetic/generator.py).

    python bench/bench_synthetic.py [--num_examples 10000 --seed 42 --noise 0.3]

Side by side on the same count: the compositional generator against the baseline a user
would otherwise write (a handful of fill-in-the-blank templates, as the original tool's
synthetic source did), and, where ../shared/data is present, real CRIS narratives at the
same count as the yardstick for diversity. Prints generation rate, distinct-narrative ratio
and distinct-4-gram ratio (word 4-grams, lower case; it falls as a corpus grows, so only
figures at the same count compare), and the ratios between them.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CRIS = REPO.parent / "shared" / "data" / "cris_narratives_llm_summaries.csv"

from crashtransformer.data.records import CrashRecord  # noqa: E402
from crashtransformer.prepare.synthetic.generator import diversity_report, generate_records  # noqa: E402

_BASELINE_TEMPLATES = (
    "Unit {a} was traveling {d} on {road}. Unit {a} failed to control speed and struck Unit {b}.",
    "Unit {a} failed to yield right of way at the intersection of {road} and {cross} and collided with Unit {b}.",
    "Unit {a} disregarded the traffic signal at {road} and struck Unit {b}.",
    "Unit {a} changed lanes unsafely on {road} and sideswiped Unit {b}.",
    "Unit {a} backed without safety in a parking lot on {road} and struck Unit {b}.",
)
_BASELINE_ROADS = ("Main St", "Oak Ave", "IH 35", "Elm St", "Lamar Blvd", "US 290", "5th St", "Congress Ave")


def baseline_records(count: int, seed: int):
    """The handful-of-templates generator: slots filled at random."""
    rng = random.Random(seed)
    for index in range(count):
        a, b = rng.sample((1, 2, 3), 2)
        text = rng.choice(_BASELINE_TEMPLATES).format(
            a=a, b=b, d=rng.choice(("north", "south", "east", "west")), road=rng.choice(_BASELINE_ROADS),
            cross=rng.choice(_BASELINE_ROADS))
        yield CrashRecord(crash_id=str(index), narrative=text)


def real_records(count: int):
    import pandas as pd

    texts = pd.read_csv(CRIS, usecols=["Narrative"], nrows=count)["Narrative"].dropna().astype(str)
    return [CrashRecord(crash_id=str(i), narrative=t) for i, t in enumerate(texts)]


def measure(name: str, make) -> dict:
    started = time.perf_counter()
    records = list(make())
    seconds = time.perf_counter() - started
    report = diversity_report(records)
    row = {"source": name, "records": report["records"], "seconds": seconds,
           "per_second": report["records"] / seconds if seconds else float("inf"),
           "distinct_narratives": report["distinct_narrative_ratio"], "distinct_4grams": report["distinct_4gram_ratio"],
           "words_per_narrative": report["four_grams"] / max(report["records"], 1) + 3,
           "factors_seen": report["factors_seen"], "manners_seen": report["manners_seen"]}
    print(f"{name:<28} {row['records']:>7} rows  {seconds:7.2f} s  {row['per_second']:9.0f}/s  "
          f"distinct narratives {row['distinct_narratives']:.4f}  distinct 4-grams {row['distinct_4grams']:.4f}  "
          f"~{row['words_per_narrative']:.0f} words  factors {row['factors_seen']} manners {row['manners_seen']}")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num_examples", type=int, default=10_000)  # the "10,000 in under a minute"
    parser.add_argument("--seed", type=int, default=42)  # the generator's default seed
    parser.add_argument("--noise", type=float, default=0.3)  # the generator's default noise
    args = parser.parse_args()
    n = args.num_examples
    ours = measure(f"compositional noise={args.noise}", lambda: generate_records(n, args.seed, args.noise))
    measure("compositional noise=0", lambda: generate_records(n, args.seed, 0.0))
    base = measure("baseline: 5 templates", lambda: baseline_records(n, args.seed))
    print(f"ratio compositional/baseline: distinct narratives x{ours['distinct_narratives'] / base['distinct_narratives']:.1f}, "
          f"distinct 4-grams x{ours['distinct_4grams'] / base['distinct_4grams']:.1f}, "
          f"speed x{ours['per_second'] / base['per_second']:.2f}")
    if CRIS.is_file():  # real narratives at the same count: the diversity we aim towards
        real = real_records(n)
        count = len(real)
        mine = measure(f"compositional at {count}", lambda: generate_records(count, args.seed, args.noise))
        cris = measure(f"real CRIS at {count}", lambda: real)
        print(f"ratio compositional/real CRIS at {count}: distinct 4-grams x{mine['distinct_4grams'] / cris['distinct_4grams']:.2f}")
    verdict = ours["seconds"] < 60 and ours["distinct_narratives"] >= 0.99
    print(f"must-show ({n} rows < 60 s, >= 99% distinct): {'PASS' if verdict else 'FAIL'}")


if __name__ == "__main__":
    main()
