"""The three kinds of input to prepare-data, each an object whose `records()` streams
CrashRecord | Reject and can be called again for a second pass (same items, same order).

- FileSource: a raw export or training file (CSV, XLSX, JSONL) through records.RecordReader.
- SyntheticSource: crashtransformer.prepare.synthetic.generator.generate_records(num_examples, seed, noise).
- PipelineSource: `run` artifacts, crash_graphs.jsonl joined to crash_summaries.jsonl on
  Crash_ID (as a string). A graph without a summary, or a summary without a graph, becomes a
  reject (`unmatched_id`), never a silent drop. One summary field is the target for the whole
  input (`choose_target`); a row without it is a reject (`missing_target`).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Iterator

from crashtransformer.core.errors import UserError
from crashtransformer.core.logs import log
from crashtransformer.data.readers import RawProblem, SourceInfo, check_input_file, read_jsonl_rows
from crashtransformer.data.columns import ROLE_ALIASES, ColumnMap, find_column, metadata_name
from crashtransformer.data.records import CrashRecord, RecordReader, Reject, Validator, row_to_record

# How prepare-data is told to read a file as each format (for the message when the content disagrees).
PREPARE_FORMAT_FLAGS = {"csv": "--source csv --input {path}", "jsonl": "--source jsonl --input {path}",
                        "xlsx": "--xlsx {path}"}

# The summary fields a pipeline row may carry, and their keys: the original CrashTransformer wrote
# best.summary and llm_summary, ours writes best_summary and reference_summary.
TARGET_FIELDS = {"reference_summary": ("reference_summary",), "llm_summary": ("llm_summary",),
                 "best_summary": ("best_summary", "best.summary")}
# Without --target_field: the input's own reference, else the original tool's LLM summary. Never
# best_summary: it is the model's own output, and training on it teaches the model its own mistakes.
AUTO_TARGETS = ("reference_summary", "llm_summary")
_GRAPH_PARTS = {"plan_lines", "entities", "events", "relationships", "candidates", "metrics", "best"}  # not metadata


class FileSource:
    name = "file"

    def __init__(self, path: str, cfg: Any, data_format: str | None):
        self.path, self.cfg, self.data_format = path, cfg, data_format
        self.reader: RecordReader | None = None

    def records(self) -> Iterator[CrashRecord | Reject]:
        cfg = self.cfg
        self.reader = RecordReader(self.path, data_format=self.data_format, text_column=cfg.text_column,
                                   summary_column=cfg.summary_column, id_column=cfg.id_column,
                                   worksheet=cfg.worksheet, encoding=cfg.encoding, delimiter=cfg.delimiter,
                                   max_chars=cfg.max_chars, scrub_pii=cfg.scrub_pii, format_flags=PREPARE_FORMAT_FLAGS)
        return iter(self.reader)

    def describe(self) -> dict[str, Any]:
        info, columns = self.reader.info, self.reader.columns
        return {"path": info.path, "format": info.format, "encoding": info.encoding, "delimiter": info.delimiter,
                "columns_found": info.columns, "rows_with_nul_bytes_removed": info.rows_with_nul_bytes,
                "columns_used": columns and {"narrative": columns.narrative, "summary": columns.summary,
                                             "crash_id": columns.crash_id, "plan_lines": columns.plan_lines},
                "cleaning": dict(self.reader.cleaning_counts)}


class SyntheticSource:
    name = "synthetic"

    def __init__(self, cfg: Any):
        if cfg.num_examples < 1:
            raise UserError(f"--num_examples must be at least 1, got {cfg.num_examples}")
        self.cfg = cfg

    def records(self) -> Iterator[CrashRecord | Reject]:
        from crashtransformer.prepare.synthetic.generator import generate_records

        validator = Validator(self.cfg.max_chars)
        # --noise uses the generator's own default noise level; without it, clean narratives.
        generated = (generate_records(self.cfg.num_examples, self.cfg.seed) if self.cfg.noise
                     else generate_records(self.cfg.num_examples, self.cfg.seed, 0.0))
        for number, record in enumerate(generated, 1):
            record.row_number = record.row_number or number
            yield validator.check(record, {"Crash_ID": record.crash_id, "narrative": record.narrative})

    def describe(self) -> dict[str, Any]:
        return {"generator": "crashtransformer.prepare.synthetic.generator", "num_examples": self.cfg.num_examples,
                "seed": self.cfg.seed, "noise": self.cfg.noise}


class PipelineSource:
    name = "pipeline"

    def __init__(self, cfg: Any):
        if not cfg.graphs_file or not cfg.summaries_file:
            raise UserError("--source pipeline needs --graphs_file crash_graphs.jsonl and --summaries_file crash_summaries.jsonl")
        self.cfg = cfg
        self.graphs = check_input_file(cfg.graphs_file)
        self.summaries = check_input_file(cfg.summaries_file)
        self.counts: Counter = Counter()
        self.cleaning: Counter = Counter()
        self.target: str | None = None  # the one summary field trained on, set by the first pass
        self.rows_with_target = 0

    def _summary_index(self) -> tuple[dict[str, dict], list[Reject]]:
        """Crash_ID -> {targets, plan_lines, line} from the summaries file (`summary`, the chosen
        target, is added by _use_target), and its broken lines."""
        index, problems = {}, []
        for item in read_jsonl_rows(self.summaries, SourceInfo(str(self.summaries), "jsonl")):
            if isinstance(item, RawProblem):
                problems.append(Reject(item.row_number, "", item.column, item.reason,
                                       f"{self.summaries.name} {item.detail}", item.raw))
                continue
            crash_id = _id_of(item.values)
            if not crash_id:
                problems.append(Reject(item.row_number, "", "Crash_ID", "missing_field",
                                       f"{self.summaries.name} line {item.row_number}: no Crash_ID", {}))
                continue
            index[crash_id] = {"targets": _targets(item.values), "plan_lines": item.values.get("plan_lines"),
                               "line": item.row_number}
        return index, problems

    def choose_target(self, index: dict[str, dict]) -> str:
        """The summary field trained on, one for the whole input: --target_field, else the first of
        AUTO_TARGETS that any row has; UserError when only best_summary (or nothing) is there."""
        if self.cfg.target_field:
            return self.cfg.target_field
        present = Counter(name for entry in index.values() for name in entry["targets"])
        chosen = next((name for name in AUTO_TARGETS if present[name]), None)
        if chosen:
            return chosen
        if present["best_summary"]:
            raise UserError(f"{self.summaries.name} has no reference_summary or llm_summary, only best_summary, the "
                            "model's own output (training on it teaches the model its own mistakes); pass "
                            "--target_field best_summary to train on it deliberately")
        raise UserError(f"{self.summaries.name}: no summary to train on (reference_summary, llm_summary or best_summary)")

    def _use_target(self, index: dict[str, dict]) -> None:
        first_pass = self.target is None
        self.target = self.choose_target(index)
        self.rows_with_target = sum(self.target in entry["targets"] for entry in index.values())
        for entry in index.values():
            entry["summary"] = entry["targets"].get(self.target)
        if first_pass:
            log.info("training target: %s (%s), present in %d of %d summaries in %s", self.target,
                     "--target_field" if self.cfg.target_field else "chosen automatically", self.rows_with_target,
                     len(index), self.summaries.name)

    def records(self) -> Iterator[CrashRecord | Reject]:
        from crashtransformer.data.records import clean_record

        summaries, problems = self._summary_index()
        self._use_target(summaries)
        yield from problems
        validator, used = Validator(self.cfg.max_chars), set()
        self.counts, self.cleaning = Counter(), Counter()
        for item in read_jsonl_rows(self.graphs, SourceInfo(str(self.graphs), "jsonl")):
            if isinstance(item, RawProblem):
                yield Reject(item.row_number, "", item.column, item.reason, f"{self.graphs.name} {item.detail}", item.raw)
                continue
            result = self._join(item.values, item.row_number, summaries, used)
            if isinstance(result, CrashRecord):
                result = validator.check(clean_record(result, self.cfg.scrub_pii, self.cleaning), {"line": item.row_number})
            yield result
        for crash_id, entry in summaries.items():
            if crash_id not in used:
                self.counts["summaries_without_graph"] += 1
                yield Reject(entry["line"], crash_id, "Crash_ID", "unmatched_id",
                             f"{self.summaries.name} line {entry['line']}: no graph with this Crash_ID in "
                             f"{self.graphs.name}", {"summary": entry["summary"]})

    def _join(self, graph: dict[str, Any], line: int, summaries: dict[str, dict], used: set) -> CrashRecord | Reject:
        crash_id = _id_of(graph)
        entry = summaries.get(crash_id)
        if entry is None:
            self.counts["graphs_without_summary"] += 1
            return Reject(line, crash_id, "Crash_ID", "unmatched_id",
                          f"{self.graphs.name} line {line}: no summary with Crash_ID {crash_id or '(none)'} in "
                          f"{self.summaries.name}", {k: v for k, v in graph.items() if k not in _GRAPH_PARTS})
        used.add(crash_id)
        from crashtransformer.plan.graph import graph_shape_problem, plan_lines_from_external_graph

        problem = graph_shape_problem(_unflatten(graph))
        if problem:  # its plan cannot be read from it
            return Reject(line, crash_id, "", "bad_graph", f"{self.graphs.name} line {line}: {problem}",
                          {k: v for k, v in graph.items() if k not in _GRAPH_PARTS})
        narrative_key = find_column(list(graph), ROLE_ALIASES["narrative"])
        plan_lines = entry["plan_lines"] or plan_lines_from_external_graph(_unflatten(graph))
        row = {"Crash_ID": crash_id, "narrative": graph.get(narrative_key, "") if narrative_key else "",
               "summary": entry["summary"], "plan_lines": plan_lines}
        metadata_columns = {k: metadata_name(k) for k in graph
                            if k not in _GRAPH_PARTS and k != narrative_key and find_column([k], ROLE_ALIASES["crash_id"]) is None}
        row.update({k: graph[k] for k in metadata_columns})
        columns = ColumnMap("narrative", "summary", "Crash_ID", "plan_lines", metadata_columns)
        record = row_to_record(row, line, columns)
        if isinstance(record, CrashRecord) and not record.summary:
            return Reject(line, crash_id, "summary", "missing_target",
                          f"no {self.target} (the target field of this input) for Crash_ID {crash_id} in "
                          f"{self.summaries.name}", row)
        return record

    def describe(self) -> dict[str, Any]:
        return {"graphs_file": str(self.graphs), "summaries_file": str(self.summaries),
                "target_field": self.target, "target_field_chosen_by": "--target_field" if self.cfg.target_field else "auto",
                "summaries_with_target_field": self.rows_with_target, **self.counts, "cleaning": dict(self.cleaning)}


def _targets(values: dict[str, Any]) -> dict[str, str]:
    """The non-empty summaries of one pipeline row, by TARGET_FIELDS name."""
    found = {}
    for name, keys in TARGET_FIELDS.items():
        for key in keys:
            value = values.get(key)
            if key == "best.summary" and isinstance(values.get("best"), dict):
                value = values["best"].get("summary")
            if isinstance(value, str) and value.strip():
                found[name] = value
                break
    return found


def _id_of(values: dict[str, Any]) -> str:
    from crashtransformer.data.records import id_text

    key = find_column(list(values), ROLE_ALIASES["crash_id"])
    return id_text(values.get(key)) if key else ""


def _unflatten(values: dict[str, Any]) -> dict[str, Any]:
    graph: dict[str, Any] = {}
    for key, value in values.items():
        if key.startswith("crash.") and isinstance(graph.setdefault("crash", {}), dict):  # not {"crash": 5, ...}
            graph["crash"][key[len("crash."):]] = value
        else:
            graph[key] = value
    return graph


def open_source(cfg: Any) -> FileSource | SyntheticSource | PipelineSource:
    """The source the options describe; UserError when they do not describe one."""
    source = cfg.source
    if source is None:
        if cfg.xlsx:
            source = "xlsx"
        elif cfg.graphs_file or cfg.summaries_file:
            source = "pipeline"
        elif cfg.input:
            source = "file"
        else:
            raise UserError("nothing to prepare: pass --source synthetic, --input FILE, --xlsx FILE, "
                            "or --graphs_file/--summaries_file")
    if source == "synthetic":
        return SyntheticSource(cfg)
    if source == "pipeline":
        return PipelineSource(cfg)
    path = cfg.xlsx if source == "xlsx" and cfg.xlsx else cfg.input
    if not path:
        raise UserError(f"--source {source} needs --input FILE" + (" (or --xlsx FILE)" if source == "xlsx" else ""))
    if Path(path).suffix.lower() in (".xls",):
        raise UserError(f"{path}: old .xls workbooks are not read; save it as .xlsx or CSV")
    return FileSource(path, cfg, None if source == "file" else source)
