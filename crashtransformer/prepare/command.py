"""prepare-data: crashes from a source -> validated, cleaned, de-duplicated, split training files.

    from crashtransformer.prepare.command import prepare_data
    result = prepare_data(PrepareDataConfig(source="csv", input="export.csv", output="data/train.csv"))

Two passes over the source, so memory holds one MinHash signature a row, not the rows:
1. scan: validate (rejects go to the rejects file), find exact and near duplicates;
2. write: drop duplicates when asked, fill missing plans with the offline extractor, write
   each kept row to its split. Sources of up to CACHE_ROWS rows are kept from pass 1 instead
   of being read twice.

Files written beside --output (stem = its name without extension; ext = .csv or .jsonl):
  <stem><ext>                 without splits, or with splits:
  <stem>.train<ext>, <stem>.validation<ext>, <stem>.test<ext>
  <stem>.rejects.csv          every row that is not in an output, with its reason
  <stem>.report.json          the data report (also printed)
  <stem>.config.json          the effective configuration
Every file is written to a temporary name and renamed into place when complete.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crashtransformer.core.config import PrepareDataConfig, save_config
from crashtransformer.core.errors import EXIT_OK, EXIT_PARTIAL, RetryError, UserError
from crashtransformer.core.logs import log
from crashtransformer.prepare.faithful import clean_summary
from crashtransformer.prepare.report import CleaningStats, OutputStats, format_report
from crashtransformer.prepare.sources import FileSource, open_source
from crashtransformer.data.records import CrashRecord, Reject
from crashtransformer.data.columns import metadata_name
from crashtransformer.data.splitting import DROPPED, SPLIT_NAMES, TRAIN, DuplicateFinder, assign_splits
from crashtransformer.core.io import check_writable_dir, is_no_space, no_space_message, write_json_atomic
from crashtransformer.data.writers import RecordWriter, RejectWriter, output_format

CACHE_ROWS = 200_000  # rows kept in memory between the passes; larger sources are read twice
DUPLICATE_REASONS = ("exact_duplicate", "near_duplicate")  # rejects that --dedupe asked for
PLAN_FAILURE = "plan_extraction_failed"  # the reject reason of a narrative the plan extractor fails on
NO_FAITHFUL_TARGET = "no_supported_summary"  # --clean_summaries left nothing of the summary
NOTHING_WRITTEN = "run the same command again: no output was written (each appears whole or not at all)"


@dataclass
class PrepareResult:
    outputs: dict[str, Path]
    rejects_file: Path
    report_file: Path
    report: dict[str, Any]
    text: str  # the printed report
    exit_code: int = EXIT_OK


@dataclass
class _Scan:
    """What pass 1 learned about the accepted rows, in order."""

    rows_in: int = 0
    rejects: Counter = field(default_factory=Counter)
    crash_ids: list[str] = field(default_factory=list)
    row_numbers: list[int | None] = field(default_factory=list)
    metadata_keys: dict[str, None] = field(default_factory=dict)
    cache: list[CrashRecord] | None = field(default_factory=list)
    source_info: dict[str, Any] = field(default_factory=dict)


def output_paths(cfg: PrepareDataConfig, fmt: str) -> dict[str, Path]:
    output = Path(cfg.output)
    ext = output.suffix if output.suffix.lower() in (".csv", ".jsonl", ".json") else f".{fmt}"
    stem = output.name[: -len(output.suffix)] if output.suffix else output.name
    if not (cfg.validation_split or cfg.test_split):
        outputs = {"train": output.with_name(stem + ext)}
    else:
        outputs = {"train": output.with_name(f"{stem}.train{ext}")}
        if cfg.validation_split:
            outputs["validation"] = output.with_name(f"{stem}.validation{ext}")
        if cfg.test_split:
            outputs["test"] = output.with_name(f"{stem}.test{ext}")
    return {**outputs, "rejects": output.with_name(f"{stem}.rejects.csv"),
            "report": output.with_name(f"{stem}.report.json"), "config": output.with_name(f"{stem}.config.json")}


def _check_config(cfg: PrepareDataConfig) -> None:
    if not cfg.output:
        raise UserError("missing --output FILE (.csv or .jsonl): where to write the training data")
    # each value's own range is checked where options are resolved (core.config); this is their sum
    if cfg.validation_split + cfg.test_split >= 1:
        raise UserError("--validation_split + --test_split must leave rows for training (sum below 1)")
    inputs = [p for p in (cfg.input, cfg.xlsx, cfg.graphs_file, cfg.summaries_file) if p]
    if any(Path(p).resolve() == Path(cfg.output).resolve() for p in inputs):
        raise UserError(f"--output {cfg.output} is also an input: choose another output name")


def _source_name(cfg: PrepareDataConfig) -> str:
    """What rejects.csv names as each row's source file ("synthetic" for generated crashes)."""
    return cfg.input or cfg.xlsx or cfg.summaries_file or "synthetic"


def _scan(source, finder: DuplicateFinder, rejects: RejectWriter) -> _Scan:
    scan = _Scan()
    for item in source.records():
        scan.rows_in += 1
        if isinstance(item, Reject):
            rejects.write(item)
            scan.rejects[item.reason] += 1
            continue
        finder.add(item.narrative)
        scan.crash_ids.append(item.crash_id)
        scan.row_numbers.append(item.row_number)
        scan.metadata_keys.update(dict.fromkeys(item.metadata))
        if scan.cache is not None:
            scan.cache.append(item)
            if len(scan.cache) > CACHE_ROWS:
                scan.cache = None  # too big to keep: pass 2 reads the source again
        if scan.rows_in % 100_000 == 0:
            log.info("scanned %d rows", scan.rows_in)
    scan.source_info = source.describe()
    return scan


def _label_key(cfg: PrepareDataConfig, scan: _Scan) -> str | None:
    if not cfg.label_column:
        return None
    for key in (cfg.label_column, metadata_name(cfg.label_column)):
        if key in scan.metadata_keys:
            return key
    found = next((k for k in scan.metadata_keys if k.lower() == cfg.label_column.lower()), None)
    if found is None:
        raise UserError(f"--label_column {cfg.label_column}: no such column among the metadata "
                        f"({', '.join(scan.metadata_keys) or 'none'})")
    return found


def _accepted(source, scan: _Scan):
    """Pass 2's view of the accepted rows: the cache, or the source read again (checked to match)."""
    if scan.cache is not None:
        yield from scan.cache
        return
    index = 0
    for item in source.records():
        if isinstance(item, Reject):
            continue
        if index >= len(scan.crash_ids) or item.crash_id != scan.crash_ids[index]:
            raise UserError("the input changed while it was being prepared; run again")
        index += 1
        yield item


def _duplicate_reject(record: CrashRecord, match, scan: _Scan) -> Reject:
    reason = "exact_duplicate" if match.exact else "near_duplicate"
    detail = (f"{'same text as' if match.exact else f'{match.similarity:.0%} similar to'} row "
              f"{scan.row_numbers[match.index]} (Crash_ID {scan.crash_ids[match.index]}), which is kept")
    return Reject(record.row_number, record.crash_id, "narrative", reason, detail,
                  {"narrative": record.narrative, "summary": record.summary})


def _plan_for(record: CrashRecord, extract: bool) -> tuple[str, dict | None]:
    """Fill a missing plan by the one plan policy (plan.policy); where the plan came from, and the
    crash graph when it was extracted (--clean_summaries checks the summary against it)."""
    if record.plan_lines:
        return "input", None
    if not extract:
        return "none", None
    from crashtransformer.plan.policy import plan_crash

    planned = plan_crash(record)
    record.plan_lines = planned.plan_lines
    return "extracted", planned.graph


def _clean_target(record: CrashRecord, graph: dict | None, cleaning: CleaningStats) -> Reject | None:
    """--clean_summaries: the summary without what its narrative does not support; a Reject when
    nothing is left (the row has no target, and a row is never written without one)."""
    if not record.summary:
        return None
    cleaned = clean_summary(record.summary, record.narrative, graph)
    cleaning.add(cleaned)
    if not cleaned.empty:
        record.summary = cleaned.text
        return None
    reasons = "; ".join(f"{c.type}: {c.text}" for c in cleaned.claims[:3])
    return Reject(record.row_number, record.crash_id, "summary", NO_FAITHFUL_TARGET,
                  f"no sentence of the summary is supported by the narrative ({reasons})",
                  {"narrative": record.narrative, "summary": record.summary})


def _plan_failure(record: CrashRecord, error: Exception) -> Reject:
    """A narrative the plan extractor fails on is rejected, loudly, never written without its plan:
    `run` would fail on the same narrative, so a model trained on it planless would be trained on
    an input it never sees."""
    log.warning("row %s (Crash_ID %s): the plan extractor failed (%s: %s); row rejected", record.row_number,
                record.crash_id, type(error).__name__, error)
    log.debug("plan extractor traceback", exc_info=error)  # the log file keeps it
    return Reject(record.row_number, record.crash_id, "narrative", PLAN_FAILURE,
                  f"the offline plan extractor failed: {type(error).__name__}: {error}",
                  {"narrative": record.narrative, "summary": record.summary})


def _write(cfg, source, scan, finder, split_of, writers, rejects, stats, cleaning) -> Counter:
    dropped = Counter()
    written = 0
    for index, record in enumerate(_accepted(source, scan)):
        split = split_of[index]
        if split == DROPPED:
            reject = _duplicate_reject(record, finder.matches[index], scan)
            rejects.write(reject)
            dropped[reject.reason] += 1
            continue
        # a synthetic crash's plan is ground truth, an empty one included: never re-extracted
        try:
            plan_source, graph = _plan_for(record, cfg.extract_plans and source.name != "synthetic")
        except Exception as error:  # a bug in the extractor on one narrative: that row, not the export
            rejects.write(_plan_failure(record, error))
            dropped[PLAN_FAILURE] += 1
            continue
        no_target = _clean_target(record, graph, cleaning) if cleaning is not None else None
        if no_target is not None:
            rejects.write(no_target)
            dropped[NO_FAITHFUL_TARGET] += 1
            continue
        writers[SPLIT_NAMES[split]].write(record)
        stats.add(record, split, plan_source)
        written += 1
        if written % 100_000 == 0:
            log.info("wrote %d rows", written)
    return dropped


def prepare_data(cfg: PrepareDataConfig) -> PrepareResult:
    """Run prepare-data; returns the paths, the report and the exit code (3 when rows were rejected)."""
    _check_config(cfg)
    fmt = output_format(cfg.output, cfg.format)
    check_writable_dir(Path(cfg.output).parent, "--output")
    paths = output_paths(cfg, fmt)
    source = open_source(cfg)
    split_names = [name for name in SPLIT_NAMES.values() if name in paths]
    rejects = RejectWriter(paths["rejects"], source_file=_source_name(cfg))
    writers: dict[str, RecordWriter] = {}
    try:
        finder = DuplicateFinder(cfg.near_duplicate_threshold)
        scan = _scan(source, finder, rejects)
        label_key = _label_key(cfg, scan)
        keep = [not (cfg.dedupe and i in finder.matches) for i in range(len(finder))]
        if cfg.validation_split or cfg.test_split:
            split_of = assign_splits(finder.groups(), keep, cfg.validation_split, cfg.test_split, cfg.seed)
        else:
            split_of = [TRAIN if k else DROPPED for k in keep]
        writers = {name: RecordWriter(paths[name], fmt, extra_columns=scan.metadata_keys) for name in split_names}
        stats = OutputStats(label_key, diversity=source.name == "synthetic")
        cleaning = CleaningStats() if cfg.clean_summaries else None
        dropped = _write(cfg, source, scan, finder, split_of, writers, rejects, stats, cleaning)
        rows_out = sum(w.count for w in writers.values())
        if rows_out == 0:
            rejects.commit()
            raise UserError(f"no rows left to write: all {scan.rows_in} were rejected; see {paths['rejects']}")
        outputs = {name: writer.commit() for name, writer in writers.items()}
        rejects.commit()
    except BaseException as exc:
        for writer in (*writers.values(), rejects):
            writer.abort()
        if is_no_space(exc, paths["rejects"]):  # which of the files filled it matters less than where
            raise RetryError(no_space_message(Path(paths["rejects"]).parent, exc, NOTHING_WRITTEN)) from exc
        raise
    report = _report(cfg, source, scan, finder, split_of, dropped, stats, paths, outputs)
    if cleaning is not None:
        report["summary_cleaning"] = cleaning.summary()
        if cleaning.rows_without_target:
            log.warning("%d row(s) kept no target: no sentence of their summary is supported by the narrative "
                        "(--clean_summaries); rejected as %s, see %s", cleaning.rows_without_target,
                        NO_FAITHFUL_TARGET, paths["rejects"])
    write_json_atomic(paths["report"], report)
    save_config(cfg, paths["config"].parent, paths["config"].name)
    rejected = sum(scan.rejects.values()) + dropped[PLAN_FAILURE]
    if rejected:
        log.warning("%d row(s) rejected; see %s", rejected, paths["rejects"])
    return PrepareResult(outputs, paths["rejects"], paths["report"], report, format_report(report),
                         EXIT_PARTIAL if rejected else EXIT_OK)


def _cross_split_pairs(finder: DuplicateFinder, split_of: list[int]) -> int:
    """Duplicate pairs whose two rows were both written, to different splits (0 by construction)."""
    return sum(1 for index, match in finder.matches.items()
               if split_of[index] != DROPPED and split_of[match.index] != DROPPED
               and split_of[index] != split_of[match.index])


def _report(cfg, source, scan, finder, split_of, dropped, stats, paths, outputs) -> dict[str, Any]:
    rejects_by_reason = dict((scan.rejects + dropped).most_common())
    rows_rejected = sum(rejects_by_reason.values())
    rows_out = sum(stats.rows.values())
    exact = sum(1 for m in finder.matches.values() if m.exact)
    report: dict[str, Any] = {
        "source": source.name if not isinstance(source, FileSource) else (cfg.source or "file"),
        "input": scan.source_info,
        "rows_in": scan.rows_in, "rows_out": rows_out, "rows_rejected": rows_rejected,
        "balanced": scan.rows_in == rows_out + rows_rejected,
        "rejects_by_reason": rejects_by_reason,
        "rejects_file": str(paths["rejects"]),
        "outputs": {name: {"path": str(path), "rows": stats.rows[name]} for name, path in outputs.items()},
        "duplicates": {"exact_duplicate_rows": exact, "near_duplicate_rows": len(finder.matches) - exact,
                       "threshold": cfg.near_duplicate_threshold, "method": "MinHash 64 perms over word 3-shingles",
                       "dropped": sum(dropped[r] for r in DUPLICATE_REASONS), "duplicate_pairs_across_splits": _cross_split_pairs(finder, split_of)},
        "split_seed": cfg.seed if (cfg.validation_split or cfg.test_split) else None,
        **stats.summary(),
        "report_file": str(paths["report"]), "config_file": str(paths["config"]),
    }
    return report


