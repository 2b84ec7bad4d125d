"""How long `run` takes to stop after Ctrl-C (SIGINT) or SIGTERM, sent at several points of a run.

A stop is measured from the signal to the process's exit (waitpid), then the output directory
is checked: every line whole, and a rerun carries on to every crash exactly once.
The baseline is the same run under the previous code path, blocking CTranslate2 calls with
the default (bounded) work queue, selected by running a copy of the checkout given with
--baseline_checkout (e.g. `git worktree add /tmp/before HEAD~1`); without it only ours is timed.

    python bench/bench_stop.py                                  # shipped model, sample file
    python bench/bench_stop.py --at 10 25 45 --baseline_checkout /tmp/before
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def stop_after(checkout: Path, data: Path, out: Path, delay: float, signum: int) -> tuple[float, int]:
    """(seconds from the signal to the exit, exit code) of `run` stopped `delay` s after its start."""
    command = [sys.executable, str(checkout / "crashtransformer.py"), "run", "--csv", str(data), "--out_dir", str(out)]
    process = subprocess.Popen(command, cwd=checkout, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    sent = time.monotonic()
    process.send_signal(signum)
    code = process.wait()
    return time.monotonic() - sent, code


def lines_whole(out: Path) -> bool:
    path = out / "crash_summaries.jsonl"
    if not path.exists():
        return True
    try:
        [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    except json.JSONDecodeError:
        return False
    return path.read_bytes().endswith(b"\n") or path.stat().st_size == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(REPO / "data" / "sample_crashes.csv"))
    parser.add_argument("--at", type=float, nargs="+", default=[10.0, 25.0, 45.0], help="seconds after start")
    parser.add_argument("--baseline_checkout", default=None, help="a checkout of the code before the change")
    args = parser.parse_args()
    checkouts = [("ours", REPO)] + ([("baseline", Path(args.baseline_checkout))] if args.baseline_checkout else [])
    print(f"{'code':<10}{'signal':<9}{'sent at':>9}{'stop s':>9}{'exit':>6}{'lines whole':>13}")
    worst: dict[str, float] = {}
    for name, checkout in checkouts:
        for delay in args.at:
            for signum in (signal.SIGINT, signal.SIGTERM):
                out = Path(tempfile.mkdtemp(prefix="bench-stop-"))
                seconds, code = stop_after(checkout, Path(args.data), out, delay, signum)
                whole = lines_whole(out)
                shutil.rmtree(out, ignore_errors=True)
                worst[name] = max(worst.get(name, 0.0), seconds)
                print(f"{name:<10}{signal.Signals(signum).name:<9}{delay:>8.0f}s{seconds:>9.2f}{code:>6}{str(whole):>13}")
    for name, seconds in worst.items():
        print(f"{name}: slowest stop {seconds:.2f} s")
    if "baseline" in worst:
        print(f"ratio baseline/ours (slowest): {worst['baseline'] / max(worst['ours'], 1e-9):.1f}x")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
