"""Fit what the crash-graph extractor learns from data, on development data only, and plot how
well its confidence holds on held-out data.

    python bench/calibrate_plan.py rules      # plan/confidence.json: precision of each manner rule and factor
    python bench/calibrate_plan.py fallback   # plan/manner_fallback.npz: the learned manner classifier
    python bench/calibrate_plan.py plot       # docs/plan-reliability.png + table, on the held-out labels
    python bench/calibrate_plan.py all        # rules, fallback, rules again (now with its bins), plot

Development data: the Texas labels outside the held-out hash range and round 2 (bench/bench_texas.py
development_labels) and the CISS development half (even CASEID). The fallback is fitted on no Texas label at all: on CISS
development rows where the rules agree with MANCOLL and on unlabelled CRIS narratives where a rule
of measured precision >= FIT_MIN_PRECISION fired. Held-out data (Texas held-out labels, CISS odd
CASEIDs, round 3) is only ever scored here, in `plot`.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import bench_texas as texas  # noqa: E402
from bench_plan import _ciss_rows  # noqa: E402
from crashtransformer.plan import confidence, learned  # noqa: E402
from crashtransformer.plan.catalogue import MANNER_BY_KEY  # noqa: E402
from crashtransformer.plan.graph import extract_graph  # noqa: E402

SMOOTHING = 4  # pseudo-observations at the pooled precision: a rule seen 4 times is half its own record
PLOT = REPO / "docs" / "plan-reliability.png"
CONFIDENCE_EDGES = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0001)


def _primary(graph: dict) -> dict | None:
    return next((e for e in graph["events"] if e["type"] == "collision" and e.get("key")), None)


def manner_outcomes(split: str) -> list[tuple[str, float, bool, str]]:
    """(rule, confidence, correct, source) for the primary collision of every labelled crash."""
    outcomes = []
    texts = texas.narratives_by_digest()
    for label in texas.development_labels() if split == "dev" else texas.held_out_labels():
        event = _primary(extract_graph(texts[label["narrative_sha256"]]))
        if event:
            outcomes.append((event["rule"], event["confidence"], event["key"] == label["manner"], "texas"))
    rows = _ciss_rows("dev" if split == "dev" else "heldout")
    for label, text in zip(rows["MANCOLL"], rows["SUMMARY"].fillna("")):
        event = _primary(extract_graph(text))
        if event:
            correct = MANNER_BY_KEY[event["key"]].mancoll == int(label)
            outcomes.append((event["rule"], event["confidence"], correct, "ciss"))
    return outcomes


def factor_outcomes(split: str) -> list[tuple[str, float, bool]]:
    """(key:how, confidence, correct) for every factor event on the labelled Texas crashes."""
    outcomes = []
    texts = texas.narratives_by_digest()
    for label in texas.development_labels() if split == "dev" else texas.held_out_labels():
        for event in extract_graph(texts[label["narrative_sha256"]])["events"]:
            if event["type"] == "factor":
                outcomes.append((f"{event['key']}:{event['rule']}", event["confidence"], event["key"] in label["factors"]))
    return outcomes


def smoothed_precision(outcomes) -> dict[str, float]:
    counts = collections.defaultdict(lambda: [0, 0])
    for name, _, correct, *_ in outcomes:
        counts[name][0] += correct
        counts[name][1] += 1
    pooled = sum(c[0] for c in counts.values()) / max(sum(c[1] for c in counts.values()), 1)
    return {name: round((hits + SMOOTHING * pooled) / (n + SMOOTHING), 3) for name, (hits, n) in sorted(counts.items())}


def calibrate_rules() -> dict:
    manners, factors = manner_outcomes("dev"), factor_outcomes("dev")
    table = {"fitted_on": "Texas CRIS development labels + CISS development half (manners); Texas development labels (factors)",
             "smoothing": SMOOTHING, "manner": smoothed_precision(manners), "factor": smoothed_precision(factors),
             "counts": {"manner_events": len(manners), "factor_events": len(factors)}}
    confidence.TABLE.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    confidence._table.cache_clear()
    print("manner rules:", table["manner"])
    print("factors:", table["factor"])
    return table


def fit_fallback() -> None:
    """Training rows the rules read well; never a Texas label."""
    precision = json.loads(confidence.TABLE.read_text())["manner"]
    trusted = {rule for rule, value in precision.items() if value >= learned.FIT_MIN_PRECISION and not rule.startswith("learned")}
    labelled = {label["narrative_sha256"] for label in texas.development_labels() + texas.held_out_labels()}
    narratives, manners = [], []
    for digest, text in texas.narratives_by_digest().items():
        event = _primary(extract_graph(text, fallback=False))
        if digest not in labelled and event and event["rule"] in trusted:
            narratives.append(text)
            manners.append(event["key"])
    cris = len(narratives)
    rows = _ciss_rows("dev")
    for label, text in zip(rows["MANCOLL"], rows["SUMMARY"].fillna("")):
        event = _primary(extract_graph(text, fallback=False))
        if event and event["rule"] in trusted and MANNER_BY_KEY[event["key"]].mancoll == int(label):
            narratives.append(text)
            manners.append(event["key"])
    learned.fit(narratives, manners)
    print(f"fallback fitted on {cris} unlabelled CRIS + {len(narratives) - cris} CISS development rows:",
          collections.Counter(manners).most_common(), f"-> {learned.MODEL} ({learned.MODEL.stat().st_size // 1024} KiB)")


def reliability(split: str = "heldout") -> dict:
    """Observed accuracy per confidence bin on the held-out labels, and the plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    manners = manner_outcomes(split)  # extracted once for both sources
    series = {"manner, Texas": [(c, ok) for _, c, ok, src in manners if src == "texas"],
              "manner, CISS": [(c, ok) for _, c, ok, src in manners if src == "ciss"],
              "factor, Texas": [(c, ok) for _, c, ok in factor_outcomes(split)]}
    table = {}
    figure, axes = plt.subplots(figsize=(5.5, 5))
    axes.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
    for name, points in series.items():
        rows = _bins(points)
        table[name] = rows
        axes.plot([r["mean_confidence"] for r in rows], [r["accuracy"] for r in rows], marker="o", label=name)
    axes.set_xlabel("stated confidence")
    axes.set_ylabel("share correct (held-out labels)")
    axes.set_title("Crash-graph confidence on held-out data")
    axes.set_xlim(0.3, 1.0)
    axes.set_ylim(0.3, 1.0)
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(PLOT, dpi=90)
    plt.close(figure)
    for name, rows in table.items():
        print(name)
        for row in rows:
            print(f"  {row['range']:>9}  n={row['n']:>5}  mean confidence {row['mean_confidence']:.3f}  correct {row['accuracy']:.3f}")
    print("plot:", PLOT)
    return table


def _bins(points: list[tuple[float, bool]]) -> list[dict]:
    rows = []
    for low, high in zip(CONFIDENCE_EDGES, CONFIDENCE_EDGES[1:]):
        inside = [(c, ok) for c, ok in points if low <= c < high]
        if inside:
            rows.append({"range": f"{low:.1f}-{min(high, 1):.1f}", "n": len(inside),
                         "mean_confidence": sum(c for c, _ in inside) / len(inside),
                         "accuracy": sum(ok for _, ok in inside) / len(inside)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["rules", "fallback", "plot", "all"])
    args = parser.parse_args()
    if not texas.DATA.is_file():
        sys.exit(f"{texas.DATA} not found: calibration needs ../shared/data (see its README)")
    if args.what in ("rules", "all"):
        calibrate_rules()
    if args.what in ("fallback", "all"):
        fit_fallback()
        calibrate_rules()  # again: the fallback's probability bins are measured like any rule
    if args.what in ("plot", "all"):
        reliability()


if __name__ == "__main__":
    main()
