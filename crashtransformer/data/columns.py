"""Which column of a crash file plays which role (narrative, summary, Crash_ID, plan_lines),
matched case-insensitively against known aliases or named by --text_column/--summary_column/
--id_column; every other column becomes metadata under its own (or a well-known) name."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from crashtransformer.core.errors import UserError
from crashtransformer.core.logs import log

ROLE_ALIASES: dict[str, tuple[str, ...]] = {
    "narrative": ("narrative", "investigator_narrative", "crash_narrative", "raw_narrative",
                  "crash.raw_narrative", "crash.narrative", "narrative_text", "text", "description"),
    "summary": ("summary", "reference_summary", "best_summary", "best.summary", "llm_summary",
                "target_summary", "causal_summary", "target"),
    "crash_id": ("crash_id", "crashid", "crash.crash_id", "metadata.crash_id", "caseid", "case_id",
                 "crash_number", "id"),
    "plan_lines": ("plan_lines", "plan", "causal_plan"),
}
METADATA_ALIASES: dict[str, tuple[str, ...]] = {
    "Crash_Severity": ("crash_severity", "severity", "crash_sev", "metadata.severity",
                       "metadata.crash_severity", "crash.crash_severity", "crash.severity"),
    "City": ("city", "metadata.city", "crash.city", "rpt_city"),
    "County": ("county", "metadata.county", "crash.county", "rpt_county"),
    "CrashDate": ("crashdate", "crash_date", "metadata.crashdate", "metadata.crash_date",
                  "crash.crash_date", "crash.crashdate"),
}
_FLAGS = {"narrative": "--text_column", "summary": "--summary_column", "crash_id": "--id_column"}


def column_key(name: str) -> str:
    """How column names are compared: case-, space- and hyphen-insensitive."""
    return re.sub(r"[\s\-]+", "_", str(name).replace("\ufeff", "").strip().lower())


def known_column_keys() -> tuple[str, ...]:
    return tuple(a for aliases in ROLE_ALIASES.values() for a in aliases)


@dataclass
class ColumnMap:
    narrative: str | None
    summary: str | None = None
    crash_id: str | None = None
    plan_lines: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)  # source column -> metadata key


def find_column(columns: list[str], aliases: tuple[str, ...]) -> str | None:
    by_key = {}
    for column in columns:
        by_key.setdefault(column_key(column), column)
    return next((by_key[a] for a in aliases if a in by_key), None)


def _explicit(columns: list[str], name: str, role: str, where: str) -> str:
    if name in columns:
        return name
    found = find_column(columns, (column_key(name),))
    if found is None:
        raise UserError(f"{where}: no column '{name}' ({_FLAGS[role]}); columns found: {', '.join(columns)}")
    return found


def metadata_name(column: str) -> str:
    for canonical, aliases in METADATA_ALIASES.items():
        if column_key(column) in aliases:
            return canonical
    for prefix in ("metadata.", "crash."):
        if column.startswith(prefix):
            return column[len(prefix):]
    return column


def resolve_columns(columns: list[str], where: str, text_column: str | None = None,
                    summary_column: str | None = None, id_column: str | None = None,
                    required: bool = True) -> ColumnMap:
    """Which column plays which role. Missing narrative: UserError (or narrative=None if not required)."""
    explicit = {"narrative": text_column, "summary": summary_column, "crash_id": id_column}
    chosen: dict[str, str | None] = {}
    for role, name in explicit.items():
        chosen[role] = _explicit(columns, name, role, where) if name else None
    taken = {c for c in chosen.values() if c}
    remaining = [c for c in columns if c not in taken]
    for role in ("narrative", "summary", "crash_id", "plan_lines"):
        if chosen.get(role) is None:
            chosen[role] = find_column(remaining, ROLE_ALIASES[role])
            remaining = [c for c in remaining if c != chosen[role]]
    if chosen["narrative"] is None and chosen["summary"] is not None and not summary_column:
        log.warning("%s: no narrative column; reading '%s' as the narrative (use --text_column to choose)",
                    where, chosen["summary"])
        chosen["narrative"], chosen["summary"] = chosen["summary"], None
    if chosen["narrative"] is None and required:
        joined = "".join(columns)
        separator = next((s for s in (";", "\t", "|") if s in joined), None)
        hint = f" (the header looks separated by {separator!r}: pass --delimiter)" if separator else ""
        raise UserError(f"{where}: no narrative column; columns found: {', '.join(columns) or '(none)'}; "
                        f"name the one holding the narrative with --text_column{hint}")
    roles = set(chosen.values())
    metadata = {c: metadata_name(c) for c in columns if c not in roles}
    return ColumnMap(chosen["narrative"], chosen["summary"], chosen["crash_id"], chosen["plan_lines"], metadata)
