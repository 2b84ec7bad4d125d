"""CrashRecord: one crash as every stage sees it, and the readers/writers for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CrashRecord:
    crash_id: str  # always a string: "0012" stays "0012"
    narrative: str
    summary: str | None = None  # reference summary, when the input has one
    plan_lines: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)  # severity, city, county, date, ...
    row_number: int | None = None  # 1-based data row in the source file, for error messages
