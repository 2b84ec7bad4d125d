"""The machine's faults a nightly job meets: memory running out mid-generation, a CTranslate2
conversion cache left half-written or damaged, a disk that fills during a conversion.

Each must end with every crash summarized exactly once (or one clear line and the exit code that
says "fix the machine, run again"), never with a traceback or a half-built cache entry.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from conftest import _mini_corpus, captured_log
from faults.conftest import FAST, invoke, read_jsonl_strict

pytest.importorskip("ctranslate2")

CRASHES = 12
CPU_OOM = ("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: "
           "you tried to allocate 1073741824 bytes")


@pytest.fixture
def crashes(tmp_path) -> Path:
    path = tmp_path / "crashes.csv"
    rows = [f"K{i:02d},{text}" for i, text in enumerate(_mini_corpus()[:CRASHES * 7:7])]
    path.write_text("Crash_ID,Narrative\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def private_cache(tmp_path, monkeypatch) -> Path:
    """A conversion cache of the test's own: the damage done here touches no other test."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("CRASHTRANSFORMER_CACHE", str(cache))
    return cache


@pytest.fixture
def warnings_of_the_package():
    """The WARNING records of the project's logger (it does not propagate to pytest's caplog)."""
    with captured_log(logging.WARNING) as records:
        yield records


def _run(crashes: Path, model: Path, out: Path, *flags: str):
    return invoke("run", "--csv", str(crashes), "--model", str(model), "--out_dir", str(out), *FAST, *flags,
                  cwd=out.parent)


def _summaries(out: Path) -> dict[str, str]:
    rows = read_jsonl_strict(out / "crash_summaries.jsonl")
    ids = [row["Crash_ID"] for row in rows]
    assert sorted(ids) == [f"K{i:02d}" for i in range(CRASHES)], "a crash lost or done twice"
    return {row["Crash_ID"]: row["best_summary"] for row in rows}


def _backend(out: Path) -> str:
    return json.loads((out / "run_report.json").read_text())["model"]["backend"]


# ----------------------------------------------------------------------------- out of memory


class FlakyBackend:
    """A backend that runs out of memory on batches larger than `fits`; `sizes` records each try."""

    schedules_batches = False

    def __init__(self, fits: int, error: BaseException):
        self.fits, self.error, self.sizes = fits, error, []

    def generate(self, batch, keys):
        from crashtransformer.infer.generation import Candidate

        self.sizes.append(len(batch))
        if len(batch) > self.fits:
            raise self.error
        return [[Candidate(f"summary of {key} ({len(ids)} tokens)", None)] for ids, key in zip(batch, keys)]


def _oom_errors():
    import torch

    return {"cuda": torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 MiB"),
            "cpu": RuntimeError(CPU_OOM), "ctranslate2": RuntimeError("CUDA failed with error out of memory")}


@pytest.mark.parametrize("kind", ["cuda", "cpu", "ctranslate2"])
def test_a_batch_out_of_memory_is_halved_and_the_call_goes_on(kind, warnings_of_the_package):
    from crashtransformer.infer.generation import generate_with_backend

    inputs = [[7] * (i % 5 + 1) for i in range(11)]
    backend = FlakyBackend(fits=2, error=_oom_errors()[kind])
    found = generate_with_backend(backend, inputs, batch_size=8)
    assert [c[0].text for c in found] == [f"summary of {i} ({i % 5 + 1} tokens)" for i in range(11)]  # input order
    assert backend.sizes[:3] == [8, 4, 2] and max(backend.sizes[3:]) <= 2  # the smaller size is kept
    assert [r.getMessage() for r in warnings_of_the_package] == [
        "out of memory generating a batch of 8; going on with batches of 4",
        "out of memory generating a batch of 4; going on with batches of 2"]


def test_a_single_input_out_of_memory_is_a_retry_error():
    from crashtransformer.core.errors import RetryError
    from crashtransformer.infer.generation import generate_with_backend

    with pytest.raises(RetryError, match=r"out of memory generating a single input \(CUDA out of memory.*--num_beams"):
        generate_with_backend(FlakyBackend(fits=0, error=_oom_errors()["cuda"]), [[1, 2], [3]], batch_size=4)


def test_an_error_that_is_not_out_of_memory_is_raised_as_it_was():
    from crashtransformer.infer.generation import generate_with_backend

    backend = FlakyBackend(fits=0, error=RuntimeError("The size of tensor a (3) must match the size of tensor b (4)"))
    with pytest.raises(RuntimeError, match="must match"):
        generate_with_backend(backend, [[1], [2]], batch_size=2)
    assert backend.sizes == [2]


def test_run_out_of_memory_on_big_batches_goes_on_in_small_ones(tmp_path, crashes, good_model, monkeypatch):
    """The torch generator's batches above 2 fail as a full GPU would; the run halves its batches,
    says so, and writes the summaries an undisturbed run writes."""
    from crashtransformer.infer.generation import TorchGenerator

    calm = tmp_path / "calm"
    assert _run(crashes, good_model, calm, "--backend", "torch", "--batch_size", "8").exit_code == 0
    real_generate = TorchGenerator.generate

    def generate_short_of_memory(self, batch, keys):
        if len(batch) > 2:
            raise _oom_errors()["cuda"]
        return real_generate(self, batch, keys)

    monkeypatch.setattr(TorchGenerator, "generate", generate_short_of_memory)
    squeezed = tmp_path / "squeezed"
    result = _run(crashes, good_model, squeezed, "--backend", "torch", "--batch_size", "8")
    assert result.exit_code == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    log = result.log_text()
    assert "out of memory generating a batch of 8; going on with batches of 4" in log
    assert "out of memory generating a batch of 4; going on with batches of 2" in log
    assert _summaries(squeezed) == _summaries(calm)


class ShortOfMemory:
    """A CTranslate2 translator whose batches above `fits` fail as its CUDA allocator does."""

    def __init__(self, translator, fits: int):
        self.translator, self.fits, self.sizes = translator, fits, []

    def translate_batch(self, sources, max_batch_size, **options):
        self.sizes.append(max_batch_size)
        if max_batch_size > self.fits:
            raise RuntimeError("CUDA failed with error out of memory")
        return self.translator.translate_batch(sources, max_batch_size=max_batch_size, **options)

    def __getattr__(self, name):
        return getattr(self.translator, name)


def test_the_ctranslate2_generator_halves_its_own_batches(private_cache, good_model, warnings_of_the_package):
    from crashtransformer.infer.backends import cached_conversion
    from crashtransformer.infer.ctranslate2 import CTranslate2Generator, load_ctranslate2_model

    model, tokenizer = load_ctranslate2_model(str(cached_conversion(str(good_model))))
    config = model.generation_config
    config.num_beams, config.max_new_tokens = 1, 8
    inputs = [tokenizer(text)["input_ids"] for text in _mini_corpus()[:20]]
    calm = CTranslate2Generator(model, tokenizer, config, batch_size=8).generate(inputs)
    generator = CTranslate2Generator(model, tokenizer, config, batch_size=8)
    generator.translator = ShortOfMemory(model.translator, fits=2)
    assert generator.generate(inputs) == calm
    assert generator.translator.sizes == [8, 4, 2] and generator.batch_size == 2
    assert [r.getMessage() for r in warnings_of_the_package] == [
        "out of memory generating a batch of 8; going on with batches of 4",
        "out of memory generating a batch of 4; going on with batches of 2"]


# ----------------------------------------------------------------------------- the conversion cache


def _converted(model: Path) -> Path:
    from crashtransformer.infer.backends import cached_conversion

    return cached_conversion(str(model))


def test_a_conversion_killed_half_way_leaves_a_temporary_that_the_next_run_removes(tmp_path, crashes, good_model,
                                                                                    private_cache):
    from crashtransformer.infer.ctranslate2 import export_damage

    target = _converted(good_model)
    # what SIGKILL during a conversion leaves: the temporary directory, half written, and no target
    leftover = target.parent / f".{target.name}.partial-99999999"
    target.rename(leftover)
    weights = leftover / "model.bin"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 3])
    (leftover / "export_manifest.json").unlink()

    out = tmp_path / "out"
    result = _run(crashes, good_model, out, "--backend", "auto")
    assert result.exit_code == 0, result.stderr[-3000:]
    assert _backend(out) == "ctranslate2"
    _summaries(out)
    assert not leftover.exists() and export_damage(target) is None
    assert f"removing {leftover}, left by a conversion that did not finish" in result.log_text()


def _cut_model_bin(target: Path) -> None:
    weights = target / "model.bin"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size - 1000])


def _flip_a_weight_byte(target: Path) -> None:
    """Damage that keeps the size: only the manifest's SHA-256 sees it."""
    weights = target / "model.bin"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))


def _drop_manifest(target: Path) -> None:
    (target / "export_manifest.json").unlink()


def _garble_config(target: Path) -> None:
    (target / "config.json").write_bytes(b"\x00\x01 not json")


@pytest.mark.parametrize("damage", [_cut_model_bin, _flip_a_weight_byte, _drop_manifest, _garble_config], ids=lambda d: d.__name__[1:])
def test_a_damaged_cached_conversion_is_deleted_and_made_again(damage, tmp_path, crashes, good_model, private_cache):
    from crashtransformer.infer.ctranslate2 import export_damage

    target = _converted(good_model)
    damage(target)
    out = tmp_path / "out"
    result = _run(crashes, good_model, out, "--backend", "auto")
    assert result.exit_code == 0, result.stderr[-3000:]
    assert f"the cached CTranslate2 conversion {target} is damaged" in result.log_text()
    assert _backend(out) == "ctranslate2" and export_damage(target) is None
    _summaries(out)


def test_a_full_disk_during_conversion_falls_back_to_torch_and_leaves_no_partial_target(
        tmp_path, crashes, good_model, small_disk, monkeypatch):
    cache = small_disk.path / "cache"
    monkeypatch.setenv("CRASHTRANSFORMER_CACHE", str(cache))
    small_disk.leave_free(256 << 10)  # the float32 model.bin alone is 1.3 MB
    out = tmp_path / "out"
    result = _run(crashes, good_model, out, "--backend", "auto")
    assert result.exit_code == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    log = result.log_text()
    assert "could not convert" in log and "no space left writing" in log and "running it with torch" in log
    assert _backend(out) == "torch"
    _summaries(out)
    assert [p.name for p in (cache / "ctranslate2").iterdir() if p.is_dir()] == []  # no half target, no temp
    small_disk.make_room()  # the fault removed: the next run converts
    again = tmp_path / "again"
    assert _run(crashes, good_model, again, "--backend", "auto").exit_code == 0
    assert _backend(again) == "ctranslate2"


def test_export_to_a_full_disk_is_exit_5_naming_the_output(tmp_path, good_model, small_disk):
    from crashtransformer.infer.export import leftover_dirs

    small_disk.leave_free(256 << 10)
    output = small_disk.path / "exported"
    result = invoke("export", "--model", str(good_model), "--output", str(output), "--quantization", "float32",
                    cwd=tmp_path)
    assert result.exit_code == 5, result.stderr[-3000:]
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.console_lines()
    assert len(lines) == 1 and lines[0].startswith(f"error: no space left writing {output} "), lines
    assert not output.exists() and leftover_dirs(output) == []
