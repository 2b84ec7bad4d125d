"""The docs stay true: every documented command and flag exists, and the walk-through runs.

Shell blocks in README.md, FINE_TUNING.md and docs/*.md are read. Each `crashtransformer.py
<command> --flag ...` line must name a real command and real flags (a renamed flag breaks
the build). In README.md and FINE_TUNING.md every shell block carries a marker (MARKERS):
blocks marked `<!-- docs-test: run -->` are executed, in order, in a scratch copy of the
project, with the substitutions in SMALL making them small; the others say why they are not.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click

from conftest import REPO

DOCS = [REPO / "README.md", REPO / "FINE_TUNING.md", *sorted((REPO / "docs").glob("*.md"))]
SHELL_LANGUAGES = {"bash", "sh", "shell", "console", "cron"}
MARKER = re.compile(r"<!--\s*docs-test:\s*([\w-]+)\s*-->")
# Make executed examples small: same commands and flags, less data and fewer steps.
SMALL = {
    "--num_examples 1000": "--num_examples 80",
    "--num_examples 300": "--num_examples 60",
    "--num_examples 200": "--num_examples 40",
    "--config configs/small-cpu.yaml": "--config configs/small-cpu.yaml --num_epochs 2 --max_eval_samples 8",
    "--config configs/fine-tune-default.yaml": "--config configs/fine-tune-default.yaml --num_epochs 1 --max_eval_samples 8",
}


def shell_blocks(path: Path) -> list[tuple[int, str | None, str]]:
    """(line number, marker, text) of each shell code block of a Markdown file."""
    blocks, marker, lines = [], None, path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        found = MARKER.search(line)
        if found:
            marker = found.group(1)
        fence = re.match(r"^```(\w*)", line)
        if fence:
            end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
            if fence.group(1) in SHELL_LANGUAGES:
                blocks.append((index + 1, marker, "\n".join(lines[index + 1:end])))
            marker, index = None, end
        index += 1
    return blocks


def command_lines(text: str) -> list[str]:
    joined = text.replace("\\\n", " ")
    return [line for line in joined.splitlines() if "crashtransformer" in line and not line.lstrip().startswith("#")]


def _known_options(command: click.Command) -> set[str]:
    return {name for param in command.params for name in (*param.opts, *param.secondary_opts)}


def check_line(line: str) -> list[str]:
    """Problems with one documented command line (empty when it is right)."""
    from crashtransformer.cli import cli

    words = shlex.split(line, comments=True)
    start = next((i for i, w in enumerate(words) if w.endswith("crashtransformer.py") or w == "crashtransformer"), None)
    if start is None:
        return []
    rest, global_options = words[start + 1:], _known_options(cli)
    shell_operator = next((i for i, w in enumerate(rest) if w in ("&&", "||", "|", ";", ">", ">>", "2>&1")), None)
    rest = rest[:shell_operator]
    while rest and rest[0].startswith("--"):  # global options before the command
        flag = rest.pop(0).split("=")[0]
        if flag not in global_options:
            return [f"unknown global option {flag}"]
        if not flag.startswith("--no") and rest and not rest[0].startswith("-"):
            rest.pop(0)
    if not rest or rest[0] in ("-h", "--help"):
        return []
    command = cli.commands.get(rest[0])
    if command is None:
        return [f"unknown command {rest[0]!r}"]
    known = _known_options(command) | {"--help", "-h"}
    return [f"{rest[0]}: unknown flag {w.split('=')[0]}" for w in rest[1:]
            if w.startswith("--") and w.split("=")[0] not in known]


def test_every_documented_command_and_flag_exists():
    problems = []
    for path in DOCS:
        if not path.exists():
            continue
        for line_number, _, text in shell_blocks(path):
            for line in command_lines(text):
                problems += [f"{path.name}:{line_number}: {p}: {line.strip()}" for p in check_line(line)]
    assert not problems, "\n".join(problems)


# run: executed below; ci: the make targets .ci/run executes (make sample, make test); needs-gpu,
# needs-network: checked for flags only; bench: a benchmark over ../shared/data taking minutes,
# its measured figures printed beside it. A crontab entry (```cron) is not a shell example.
MARKERS = {"run", "ci", "needs-gpu", "needs-network", "bench"}


def test_every_shell_example_is_run_or_marked():
    guides = [REPO / "README.md", REPO / "FINE_TUNING.md"]  # docs/*.md get the flag check only
    unmarked = [f"{path.name}:{number}" for path in guides if path.exists()
                for number, marker, text in shell_blocks(path)
                if marker not in MARKERS and _language(path, number) != "cron"]
    assert not unmarked, f"shell examples neither run by the tests nor marked: {unmarked}"


def _language(path: Path, block_line: int) -> str:
    fence = path.read_text(encoding="utf-8").splitlines()[block_line - 1]
    return re.match(r"^```(\w*)", fence).group(1)


def test_the_flag_checker_catches_a_renamed_flag():
    assert check_line("python crashtransformer.py train --num_epoch 3") == ["train: unknown flag --num_epoch"]
    assert check_line("python crashtransformer.py trian") == ["unknown command 'trian'"]
    assert check_line("python crashtransformer.py --log_dir x train --num_epochs 3 --num-epochs 2") == []


def _scratch_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("crashtransformer.py", "configs", "data"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("generated"))
        else:
            shutil.copy(source, project / name)
    (project / "crashtransformer").symlink_to(REPO / "crashtransformer")
    shipped = REPO / "fine_tuned_models" / "crashtransformer-default"  # only what a clone has
    if shipped.is_dir():
        shutil.copytree(shipped, project / "fine_tuned_models" / shipped.name)
    return project


def _runnable_blocks() -> list[tuple[str, int, str]]:
    return [(path.name, number, text) for path in DOCS if path.exists()
            for number, marker, text in shell_blocks(path) if marker == "run"]


def test_documented_walkthroughs_run_as_written(tmp_path):
    blocks = _runnable_blocks()
    assert blocks, "README.md must mark its walk-through with <!-- docs-test: run -->"
    project = _scratch_project(tmp_path)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for name, number, text in blocks:
        for large, small in SMALL.items():
            text = text.replace(large, small)
        script = "set -euo pipefail\n" + text.replace(". .venv/bin/activate", ":")  # already in the venv
        result = subprocess.run(["bash", "-c", script], cwd=project, env=env, capture_output=True, text=True,
                                timeout=900)
        assert result.returncode == 0, f"{name}:{number} failed (exit {result.returncode}):\n{result.stderr[-4000:]}"


def test_fine_tuning_guide_lists_every_training_flag_with_its_real_default():
    from crashtransformer.core.config import TrainConfig
    from crashtransformer.core.fields import flat_fields

    guide = (REPO / "FINE_TUNING.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `--(\w+)` \| ([^|]+) \|", guide, flags=re.MULTILINE))
    for flat in flat_fields(TrainConfig):
        field, default = flat.field, flat.default
        shown = {None: "—", "": "—", False: "off", True: "on"}.get(default, f"`{default}`") \
            if not isinstance(default, (int, float)) or isinstance(default, bool) else f"`{default}`"
        assert field.name in rows, f"FINE_TUNING.md has no row for --{field.name}"
        assert rows[field.name].strip() == shown, f"--{field.name}: guide says {rows[field.name]}, code {shown}"
