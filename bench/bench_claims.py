"""The claim-support checker against people (docs/claim-labelling-guide.md).

    python bench/bench_claims.py score [--split dev|heldout|all] [--show_errors N] [--wording] [--style typed|ocr_scan]
    python bench/bench_claims.py agreement      # first pass vs the blind second pass
    python bench/bench_claims.py ingest FILE... [--blind]   # labelling-pass files -> data/labels

Labels: data/labels/cris_claim_labels.jsonl, one (narrative, summary) pair a line, keyed by the
narrative's SHA-256 (first 16 hex digits). A model output's text is kept in the label (the project
wrote it); a reference summary is read from ../shared/data/cris_narratives_llm_summaries.csv by the
same key. Each unsupported claim is its type and the character span in the summary. Pairs whose
narrative hash starts with c, d, e or f are held out: never printed, scored apart.

Scoring. A checker claim is a true positive when its span overlaps a labelled claim's span; recall
counts labelled claims that some checker claim overlaps. Reported with hedges (every claim) and
without (asserted facts only), and per summary (any unsupported claim or not).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data" / "cris_narratives_llm_summaries.csv"
LABELS = REPO / "data" / "labels" / "cris_claim_labels.jsonl"
BLIND = REPO / "data" / "labels" / "cris_claim_labels_blind.jsonl"
HELD_OUT_PREFIXES = tuple("cdef")

from crashtransformer.data.cleaning import clean_text  # noqa: E402
from crashtransformer.metrics.claims import check_claims  # noqa: E402


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def shared_rows() -> dict[str, tuple[str, str]]:
    """narrative hash -> (narrative as prepare-data cleans it, reference summary) of the shared CRIS
    file; the labellers read the cleaned text (the training files' Narrative)."""
    import pandas as pd

    frame = pd.read_csv(DATA).fillna("")
    return {digest(n): (clean_text(n), s) for n, s in zip(frame["Narrative"], frame["summary"])}


def read_jsonl(path: Path) -> list[dict]:
    with Path(path).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def pair_texts(label: dict, rows: dict) -> tuple[str, str]:
    narrative, reference = rows[label["narrative_sha256"]]
    summary = label.get("summary") if label["source"] == "model" else reference
    if digest(summary) != label["summary_sha256"]:
        raise SystemExit(f"{label['narrative_sha256']}: the summary's hash differs from the label's")
    return narrative, summary


def overlaps(a: list[int], b: list[int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def match_counts(found: list[dict], wanted: list[dict]) -> tuple[int, int, int, int]:
    """(found matched, found, wanted matched, wanted) by span overlap."""
    hit = sum(any(overlaps(f["span"], w["span"]) for w in wanted) for f in found)
    covered = sum(any(overlaps(w["span"], f["span"]) for f in found) for w in wanted)
    return hit, len(found), covered, len(wanted)


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 3) if b else None


def score(split: str, show_errors: int, wording: bool = False, style: str = "typed") -> dict:
    rows, labels = shared_rows(), read_jsonl(LABELS)
    if style == "ocr_scan":  # the same pairs, each narrative as an OCR'd CR-3 scan reads (bench/ocr_style.py)
        from ocr_style import as_ocr_scan

        rows = {key: (as_ocr_scan(narrative), reference) for key, (narrative, reference) in rows.items()}
    totals = {"all": [0, 0, 0, 0], "facts": [0, 0, 0, 0]}
    pair_hits = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    shown = 0
    for label in labels:
        held = label["narrative_sha256"].startswith(HELD_OUT_PREFIXES)
        if split != "all" and (split == "heldout") != held:
            continue
        narrative, summary = pair_texts(label, rows)
        found = [c.to_dict() for c in check_claims(summary, narrative, wording=wording)]
        wanted = label["unsupported"]
        for name, keep in (("all", lambda c: True), ("facts", lambda c: c["type"] != "hedge")):
            counts = match_counts([c for c in found if keep(c)], [w for w in wanted if keep(w)])
            totals[name] = [t + c for t, c in zip(totals[name], counts)]
        said, truth = any(c["type"] != "hedge" for c in found), any(w["type"] != "hedge" for w in wanted)
        pair_hits[("t" if said == truth else "f") + ("p" if said else "n")] += 1
        if not held and shown < show_errors and match_counts(found, wanted)[0::2] != (len(found), len(wanted)):
            shown += 1
            print(f"--- {label['narrative_sha256']}-{label['source'][0]}\nN: {narrative[:600]}\nS: {summary}")
            print("  checker:", [(c["type"], summary[c["span"][0]:c["span"][1]]) for c in found])
            print("  people: ", [(w["type"], summary[w["span"][0]:w["span"][1]]) for w in wanted])
    result = {"split": split, "wording": wording, "style": style, "pairs": sum(pair_hits.values())}
    for name, (hit, found, covered, wanted) in totals.items():
        result[name] = {"precision": _ratio(hit, found), "recall": _ratio(covered, wanted),
                        "checker_claims": found, "labelled_claims": wanted}
    p = pair_hits
    result["per_summary"] = {"precision": _ratio(p["tp"], p["tp"] + p["fp"]), "recall": _ratio(p["tp"], p["tp"] + p["fn"]),
                             "accuracy": _ratio(p["tp"] + p["tn"], sum(p.values())), **p}
    return result


def agreement() -> dict:
    first = {(l["narrative_sha256"], l["source"]): l for l in read_jsonl(LABELS)}
    second = read_jsonl(BLIND)
    same_verdict, claims = 0, [0, 0, 0, 0]
    for label in second:
        other = first[(label["narrative_sha256"], label["source"])]
        a = any(c["type"] != "hedge" for c in other["unsupported"])
        b = any(c["type"] != "hedge" for c in label["unsupported"])
        same_verdict += a == b
        claims = [t + c for t, c in zip(claims, match_counts(label["unsupported"], other["unsupported"]))]
    hit, found, covered, wanted = claims
    return {"pairs": len(second), "same_summary_verdict": _ratio(same_verdict, len(second)),
            "second_claims_matched_by_first": _ratio(hit, found), "first_claims_matched_by_second": _ratio(covered, wanted)}


def ingest(paths: list[str], pairs_file: str, blind: bool) -> None:
    """Labelling-pass files (pair id, spans as text) -> label rows (spans as offsets)."""
    pairs = {p["pair"]: p for p in read_jsonl(Path(pairs_file))}
    raw_key = {digest(cleaned): key for key, (cleaned, _) in shared_rows().items()}
    out = []
    for path in paths:
        for row in read_jsonl(Path(path)):
            pair = pairs[row["pair"]]
            claims = []
            for claim in row["unsupported"]:
                start = pair["summary"].find(claim["span"])
                if start < 0:
                    raise SystemExit(f"{path}: {row['pair']}: span not in summary: {claim['span']!r}")
                claims.append({"type": claim["type"], "span": [start, start + len(claim["span"])],
                               "reason": claim.get("reason", "")})
            entry = {"narrative_sha256": raw_key[digest(pair["narrative"])], "source": pair["source"],
                     "summary_sha256": digest(pair["summary"]), "labeller": row["labeller"], "unsupported": claims}
            if pair["source"] == "model":
                entry["summary"] = pair["summary"]
            out.append(entry)
    target = BLIND if blind else LABELS
    target.write_text("".join(json.dumps(e) + "\n" for e in out), encoding="utf-8")
    print(f"{len(out)} pairs -> {target}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("score")
    s.add_argument("--split", default="dev", choices=("dev", "heldout", "all"))
    s.add_argument("--show_errors", type=int, default=0)
    s.add_argument("--wording", action="store_true", help="the strict checker run selects with (metrics/wording.py)")
    s.add_argument("--style", default="typed", choices=("typed", "ocr_scan"),
                   help="ocr_scan: each narrative re-rendered as an OCR'd CR-3 scan (bench/ocr_style.py)")
    sub.add_parser("agreement")
    i = sub.add_parser("ingest")
    i.add_argument("files", nargs="+")
    i.add_argument("--pairs", required=True, help="the pairs file the labellers read")
    i.add_argument("--blind", action="store_true")
    args = parser.parse_args()
    if args.command == "score":
        print(json.dumps(score(args.split, args.show_errors, args.wording, args.style), indent=1))
    elif args.command == "agreement":
        print(json.dumps(agreement(), indent=1))
    else:
        ingest(args.files, args.pairs, args.blind)


if __name__ == "__main__":
    main()
