"""docs/reliability.md shows the corpus as it is: its table and its counts come from corpus.py."""

from __future__ import annotations

from collections import Counter

from conftest import REPO
from faults.corpus import COMMANDS, CORPUS, cases, markdown_table

DOC = REPO / "docs" / "reliability.md"


def test_the_table_in_the_docs_is_the_corpus():
    assert markdown_table() in DOC.read_text(encoding="utf-8"), "regenerate the table: corpus.markdown_table()"


def test_the_counts_in_the_docs_are_the_corpus_counts():
    text = DOC.read_text(encoding="utf-8")
    per_command = Counter(command for _, command in cases())
    outcomes = Counter(entry.outcomes[command].exit_code for entry, command in cases())
    assert len(CORPUS) >= 25
    assert f"| bad inputs in the corpus | **{len(CORPUS)}** |" in text
    assert f"**{len(cases())}**: " + ", ".join(f"{c} {per_command[c]}" for c in COMMANDS) in text
    assert (f"{outcomes[2]} one-line errors (exit 2), {outcomes[3]} reject rows (exit 3), "
            f"{outcomes[0]} accepted (exit 0)") in text


def test_every_test_the_docs_name_exists():
    """The fault tables cite tests by name: each must be a test function under tests/ (a renamed or
    deleted test would leave the doc promising a check that no longer runs)."""
    import re

    defined = {name for path in (REPO / "tests").rglob("test_*.py")
               for name in re.findall(r"^def (test_\w+)", path.read_text(encoding="utf-8"), re.M)}
    cited = set(re.findall(r"`(?:[\w/.]+::)?(test_\w+)", DOC.read_text(encoding="utf-8")))
    assert len(cited) >= 20
    assert not cited - defined, f"docs/reliability.md names tests that do not exist: {sorted(cited - defined)}"


def test_the_hypothesis_example_count_in_the_docs_is_the_suites():
    from faults.test_properties import EXAMPLES

    assert f"**{sum(EXAMPLES.values()):,} examples** per run" in DOC.read_text(encoding="utf-8")
