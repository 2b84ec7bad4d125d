"""core/index.py: the Crash_ID index `run` keeps in constant memory (a private SQLite B-tree)."""

import sqlite3
import subprocess
import sys

import pytest

from crashtransformer.core.errors import RetryError
from crashtransformer.core.index import UNKNOWN, DigestIndex


def test_membership_values_and_first_value_kept():
    index = DigestIndex()
    assert not index and len(index) == 0 and "C1" not in index and index.get("C1") is None
    assert index.add("C1", 7) and index.add("C2")
    assert not index.add("C1", 99)  # a repeat: refused, the first value stays
    assert len(index) == 2 and index and "C1" in index and "C3" not in index
    assert index.get("C1") == 7 and index.get("C2") == UNKNOWN


@pytest.mark.parametrize("value", [0, 1, (1 << 63) - 1, 1 << 63, (1 << 64) - 1])
def test_every_unsigned_64_bit_value_round_trips(value):
    index = DigestIndex()
    index.add("key", value)
    assert index.get("key") == value


def test_keys_that_differ_only_in_case_or_unicode_stay_apart():
    index = DigestIndex()
    keys = ["c1", "C1", "C1 ", "Ç1", "\udcff", "", "0" * 10_000]
    assert all(index.add(key, n) for n, key in enumerate(keys))
    assert [index.get(key) for key in keys] == list(range(len(keys)))


def test_many_keys_are_all_found_and_no_stranger_is():
    index = DigestIndex()
    for n in range(50_000):
        index.add(f"K{n}", n)
    assert len(index) == 50_000
    assert all(index.get(f"K{n}") == n for n in range(0, 50_000, 97))
    assert not any(f"X{n}" in index for n in range(1000))


def test_a_million_keys_stay_out_of_the_process(tmp_path):
    """What the index is for: the process's peak memory does not grow with the keys it holds
    (the 1M-row soak measures the whole `run`, bench/bench_soak.py)."""
    script = ("import resource, sys\nfrom crashtransformer.core.index import DigestIndex\n"
              "n = int(sys.argv[1]); index = DigestIndex()\n"
              "for i in range(n): index.add(f'SOAK-{i:07d}', i)\n"
              "assert len(index) == n and index.get(f'SOAK-{n - 1:07d}') == n - 1\n"
              "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")

    def peak_kib(keys: int) -> int:
        done = subprocess.run([sys.executable, "-c", script, str(keys)], capture_output=True, text=True,
                              env={"TMPDIR": str(tmp_path), "PATH": ""}, check=True)
        return int(done.stdout)

    small, large = peak_kib(1000), peak_kib(300_000)
    assert large - small < 4 * 1024, (small, large)  # the numpy blocks before it grew 13 MB here


def test_a_full_temp_disk_is_a_retry_naming_the_directory(monkeypatch):
    index = DigestIndex()
    index.add("C1")
    monkeypatch.setenv("TMPDIR", "/where/the/index/lives")

    class FullDisk:
        def execute(self, *args):
            raise sqlite3.OperationalError("database or disk is full")

    index._db = FullDisk()
    with pytest.raises(RetryError, match="the Crash_ID index cannot grow in /where/the/index/lives"):
        index.add("C2")
    assert len(index) == 1
