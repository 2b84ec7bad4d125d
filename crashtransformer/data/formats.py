"""Which format a crash file is in: the flag (or else the extension) says what it should be, its
first bytes say what it is.

A file that is something else (an Excel workbook given as CSV, JSON lines given as CSV, CSV given
as JSON lines, a legacy .xls, a ZIP or gzip archive, binary bytes) is a UserError that names the
file and what reads it, raised before any parsing: parsed as the wrong format it would fail later,
in words about missing columns. Text with a UTF-16 byte-order mark is text (its NUL bytes are half
of each character), decoded before its first character is looked at.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from crashtransformer.core.errors import UserError
from crashtransformer.data.text import check_encoding

SNIFF_BYTES = 1 << 16  # enough to tell binary from text by the share of NUL bytes
EXTENSIONS = {".xlsx": "xlsx", ".xlsm": "xlsx", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
              ".csv": "csv", ".tsv": "csv", ".txt": "csv"}
# How `run` is told to read a file as each format; other commands pass their own (format_flags).
RUN_FORMAT_FLAGS = {"csv": "--csv {path}", "jsonl": "--jsonl {path}", "xlsx": "--xlsx {path}"}

_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_SIGNATURES = ((b"PK\x03\x04", "zip"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "xls"), (b"\x1f\x8b", "gzip"))
_JSON_ARRAY = re.compile(r"\[\s*[{\]]")

# What a file was expected to be, and what it turned out to be, in messages.
_EXPECTED = {"csv": "CSV", "jsonl": "JSON lines", "xlsx": "an .xlsx workbook"}
_FOUND = {"csv": "CSV text", "jsonl": "JSON lines", "xlsx": "an Excel workbook (XLSX)", "zip": "a ZIP archive",
          "xls": "a legacy Excel workbook (.xls)", "gzip": "gzip-compressed", "json_array": "a JSON array",
          "binary": "binary (mostly NUL bytes)"}
_FIXES = {"zip": "unzip it and pass the file inside (a spreadsheet: save it as .xlsx)",
          "xls": "open it in Excel and save it as .xlsx or CSV",
          "gzip": "decompress it first (gunzip)",
          "json_array": "write one JSON object per line (JSON lines)",
          "binary": "a binary file, or UTF-16 text without a byte-order mark: re-save it as UTF-8 CSV "
                    "or pass --encoding utf-16-le"}


def sniff(path: Path, encoding: str | None = None) -> tuple[str, str]:
    """What the file holds: csv, jsonl or xlsx (readable), or zip, xls, gzip, json_array, binary;
    and, for text, its first line (for messages). `encoding`: the user's word that it is text."""
    with path.open("rb") as handle:
        sample = handle.read(SNIFF_BYTES)
    for signature, kind in _SIGNATURES:
        if sample.startswith(signature):
            return ("xlsx" if kind == "zip" and _is_workbook(path) else kind), ""
    text = sample.decode(check_encoding(encoding, path), errors="ignore") if encoding else _text_of(sample)
    if text is None:
        return "binary", ""
    start = text.replace("\x00", "").lstrip()  # the readers drop NUL bytes, so does the sniff
    first_line = start.split("\n", 1)[0].strip()[:60]
    if _JSON_ARRAY.match(start):
        return "json_array", first_line
    return ("jsonl" if start.startswith("{") else "csv"), first_line


def _is_workbook(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.startswith("xl/workbook.") for name in archive.namelist())
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):  # a damaged ZIP: most likely a workbook; the XLSX reader says what is wrong
        return True


def _text_of(sample: bytes) -> str | None:
    """The sample decoded enough to see its first characters; None when it is not text."""
    for bom, codec in _BOMS:
        if sample.startswith(bom):
            return sample[len(bom):].decode(codec, errors="ignore")
    if sample.count(b"\x00") > len(sample) // 10:  # a few NUL bytes in a text export are dropped per row
        return None
    return sample.decode("utf-8", errors="ignore")


def decide_format(path: Path, data_format: str | None = None, format_flags: dict[str, str] | None = None,
                  encoding: str | None = None) -> str:
    """csv, jsonl or xlsx: `data_format` (a flag), else the extension, checked against the content;
    with neither, the content decides. UserError when the content is something else."""
    expected = data_format.lower() if data_format else EXTENSIONS.get(path.suffix.lower())
    if expected is not None and expected not in _EXPECTED:
        raise UserError(f"{path}: unknown data format '{data_format}'; use csv, xlsx or jsonl")
    found, first_line = sniff(path, encoding)
    if found == expected or (expected is None and found in _EXPECTED):
        return found
    fix = _FIXES.get(found) or _how_to_read(path, found, data_format is not None, format_flags)
    start = f" (its first line: {first_line!r})" if found == "csv" else ""
    wanted = _EXPECTED.get(expected, "CSV, JSON lines or XLSX")
    raise UserError(f"{path} is {_FOUND[found]}, not {wanted}{start}: {fix}")


def _how_to_read(path: Path, found: str, flagged: bool, format_flags: dict[str, str] | None) -> str:
    """The flag that reads the file as what it is; a file typed by its extension is renamed."""
    flags = RUN_FORMAT_FLAGS if format_flags is None else format_flags
    if flagged and found in flags:
        return "pass it with " + flags[found].format(path=path)
    return f"rename it to {path.with_suffix('.' + found).name}"
