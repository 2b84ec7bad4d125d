#!/usr/bin/env bash
# The prepared GPU session of issue 24 (training and `run` on CUDA): one script, under 8 minutes.
#
#   bash bench/gpu_session.sh --prepare   # HERE, once, with pip registries reachable: wheels + data
#   bash bench/gpu_session.sh             # on the GPU machine (the `device` tool runs it in the repo root)
#   bash bench/gpu_session.sh --dry-run   # on a CPU (or CT_DEVICE=cpu): every command, tiny sizes
#
# The GPU machine reaches no registry (KINDS.md: "package registries: none") and runs its own
# python3 (torch 2.11+cu130, transformers 5.17 when last read there), so `make install`'s
# torch==2.13.0 cannot be fetched there. --prepare downloads, here, the few pure-Python wheels
# that image lacks (datasets, dill, multiprocess, nltk, rouge-score, defusedxml) plus this venv's
# transformers and regex, for Python 3.12, into build/gpu-wheels (ignored by .gitignore), and
# copies ../shared/data's CRIS narratives into build/gpu-data when they are here. Then, from the
# session that has the device:
#   run(command="bash bench/gpu_session.sh", carry=["build/gpu-wheels", "build/gpu-data"], timeout_s=560)
# Without carried wheels the script tries, time-boxed, a pip registry (and `make install` where no
# torch is importable at all); without real narratives it makes 2,000 synthetic ones and says so.
#
# Writes to $OUT (a temporary folder when unset): session.log, versions.txt, and one table per
# benchmark: run_shipped.txt, run_base-like.txt, train_small.txt, train_base-like.txt, overlap.txt
# (the last is skipped when the budget is spent).
# Env: CT_PYTHON (interpreter), CT_DATA (a CSV with Narrative and summary columns),
#      CT_BUDGET_S (whole-session budget in seconds, default 470), CT_DEVICE=cpu (= --dry-run),
#      CT_SYNTHETIC=1 (synthetic narratives even where real ones are present).

set -u -o pipefail

MODE=gpu
case "${1:-}" in
  --prepare) MODE=prepare ;;
  --dry-run) MODE=dry ;;
  "") ;;
  -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
  *) echo "unknown option: $1 (use --prepare, --dry-run or nothing)" >&2; exit 2 ;;
esac
[ "${CT_DEVICE:-cuda}" = cpu ] && [ "$MODE" = gpu ] && MODE=dry

REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO" || exit 2
WHEELS=build/gpu-wheels
DATA_DIR=build/gpu-data
CRIS_NAME=cris_narratives_llm_summaries.csv
START=$(date +%s)
if [ "$MODE" = dry ]; then BUDGET=${CT_BUDGET_S:-2400}; else BUDGET=${CT_BUDGET_S:-470}; fi
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
WORK=$(mktemp -d)
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false

elapsed() { echo $(( $(date +%s) - START )); }
log() { echo "[gpu_session +$(elapsed)s] $*" | tee -a "$OUT/session.log"; }

# ----------------------------------------------------------------------------- --prepare (here)

if [ "$MODE" = prepare ]; then
  PY=${CT_PYTHON:-.venv/bin/python}
  version() { "$PY" -c "import importlib.metadata as m; print(m.version('$1'))"; }
  mkdir -p "$WHEELS/alt" "$DATA_DIR"
  rm -f "$WHEELS"/*.whl "$WHEELS"/alt/*.whl
  # the versions this venv runs the tests with, pure Python except regex (cp312 manylinux)
  PINS="transformers==$(version transformers) datasets==$(version datasets) dill==$(version dill)
        multiprocess==$(version multiprocess) nltk==$(version nltk) defusedxml==$(version defusedxml)
        regex==$(version regex)"
  # shellcheck disable=SC2086
  timeout 300 "$PY" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d "$WHEELS" $PINS || { echo "pip download failed" >&2; exit 1; }
  # datasets >= 5.1 wants pyarrow >= 24; 5.0 takes pyarrow >= 21: the fallback if the image's is older
  timeout 120 "$PY" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp -d "$WHEELS/alt" datasets==5.0.0 || echo "no fallback datasets wheel" >&2
  # rouge-score is published as an sdist only: build its (pure-Python) wheel here
  timeout 180 "$PY" -m pip wheel --quiet --no-deps -w "$WHEELS" "rouge-score==$(version rouge-score)" \
    || { echo "rouge-score wheel build failed" >&2; exit 1; }
  if [ -f "../shared/data/$CRIS_NAME" ]; then
    cp "../shared/data/$CRIS_NAME" "../shared/data/LICENSE-cris-narratives.txt" "$DATA_DIR/" 2>/dev/null
  fi
  ls -la "$WHEELS" "$WHEELS/alt" "$DATA_DIR"
  du -sh "$WHEELS" "$DATA_DIR"
  echo "tracked tree: $(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1) bytes (all that travels: 64 MiB)"
  echo 'next: run(command="bash bench/gpu_session.sh", carry=["build/gpu-wheels", "build/gpu-data"], timeout_s=560)'
  exit 0
fi

# ----------------------------------------------------------------------------- step runner

# run_step NAME SECONDS CMD...: CMD under `timeout`, never past the session budget, output to
# $OUT/NAME.txt and the log; a failure or a timeout is reported and the session goes on.
run_step() {
  local name=$1 wanted=$2; shift 2
  local left=$(( BUDGET - $(elapsed) - 5 ))
  local limit=$(( wanted < left ? wanted : left ))
  if [ "$limit" -lt 20 ]; then
    log "SKIP $name: $left s of the budget left"
    return 0
  fi
  log "START $name (timeout ${limit}s): $*"
  local started; started=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" 2>"$WORK/$name.err" | tee "$OUT/$name.txt"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    log "TIMEOUT $name after $(( $(date +%s) - started ))s (what it printed is in $name.txt)"
  elif [ "$rc" -ne 0 ]; then
    log "FAILED $name (exit $rc); its stderr, last lines:"
    tail -n 25 "$WORK/$name.err" | tee -a "$OUT/session.log"
  else
    log "DONE $name in $(( $(date +%s) - started ))s"
  fi
  { echo "== $name"; tail -c 4000 "$WORK/$name.err"; } >> "$OUT/stderr.txt" 2>/dev/null
  return 0
}

# ----------------------------------------------------------------------------- python and packages

if [ -n "${CT_PYTHON:-}" ]; then PY=$CT_PYTHON
elif [ "$MODE" = dry ] && [ -x .venv/bin/python ]; then PY=.venv/bin/python
elif [ -x .venv/bin/python ] && .venv/bin/python -c "import torch; assert torch.cuda.is_available()" 2>/dev/null; then
  PY=.venv/bin/python
else PY=python3
fi
log "mode $MODE, python $PY, output $OUT, budget ${BUDGET}s"

NEEDED="import torch, transformers, datasets, accelerate, nltk, rouge_score, pandas, click, yaml, sacrebleu, sklearn, jinja2, matplotlib; import datasets as d; d.Dataset.from_dict({'a': [[1, 2], [3]]}).select([1])['a']"
imports_ok() { PYTHONPATH="${PYTHONPATH:-}" "$PY" -c "$NEEDED" 2>"$WORK/imports.err"; }

if [ "$MODE" = gpu ] && ls "$WHEELS"/*.whl >/dev/null 2>&1; then
  SITE=/tmp/ct-site
  log "installing the carried wheels into $SITE: $(cd "$WHEELS" && ls ./*.whl | xargs -n1 basename | tr '\n' ' ')"
  timeout 120 "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
    "$WHEELS"/*.whl 2>&1 | tail -5 | tee -a "$OUT/session.log"
  export PYTHONPATH="$SITE"
  if ! imports_ok && ls "$WHEELS"/alt/datasets-*.whl >/dev/null 2>&1; then
    log "the carried datasets did not import with this image's pyarrow ($(tail -1 "$WORK/imports.err")): trying datasets 5.0"
    timeout 60 "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
      "$WHEELS"/alt/datasets-*.whl 2>&1 | tail -3 | tee -a "$OUT/session.log"
  fi
fi
if ! imports_ok; then
  log "missing packages: $(tail -1 "$WORK/imports.err")"
  if [ "$MODE" = gpu ] && timeout 20 "$PY" -m pip download -q --no-deps -d "$WORK/probe" six >/dev/null 2>&1; then
    if "$PY" -c "import torch" 2>/dev/null; then
      log "a pip registry answers: installing requirements.txt beside the image's torch (time-boxed 240 s)"
      timeout 240 "$PY" -m pip install -q -r requirements.txt 2>&1 | tail -5 | tee -a "$OUT/session.log"
    else
      log "no torch: make install (torch==2.13.0, the default CUDA wheel from PyPI; time-boxed 300 s)"
      timeout 300 make install PYTHON=python3 2>&1 | tail -5 | tee -a "$OUT/session.log"
      PY=.venv/bin/python
    fi
  fi
  imports_ok || { log "cannot import what the benchmarks need: $(tail -3 "$WORK/imports.err")"; exit 3; }
fi

# ----------------------------------------------------------------------------- versions and CUDA

"$PY" - > "$OUT/versions.txt" 2>>"$WORK/versions.err" <<'EOF'
import os, platform, sys
sys.path.insert(0, "bench")
import torch, transformers, datasets
print(f"python {platform.python_version()} ({sys.executable})")
print(f"torch {torch.__version__}, CUDA build {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}")
print(f"transformers {transformers.__version__} ({os.path.dirname(transformers.__file__)}), datasets {datasets.__version__}")
print(f"cores {os.cpu_count()}")
if torch.cuda.is_available():
    from transformers.utils import is_torch_tf32_available
    import roofline
    p = torch.cuda.get_device_properties(0)
    spec = roofline.gpu_spec(torch.cuda.get_device_name())
    print(f"GPU {torch.cuda.get_device_name()}: compute capability {p.major}.{p.minor}, {p.total_memory / 2**30:.1f} GiB, "
          f"{p.multi_processor_count} SMs, bf16 {torch.cuda.is_bf16_supported()}, tf32 {is_torch_tf32_available()}")
    print(f"roofline spec: {spec.name}, {spec.bf16_flops / 1e12:.0f} TFLOP/s bf16, {spec.hbm_bytes_per_s / 1e12:.2f} TB/s"
          if spec else "roofline spec: not in bench/roofline.py GPU_SPECS (MFU and bound n/a)")
else:
    print("CUDA: not available")
EOF
cat "$OUT/versions.txt" | tee -a "$OUT/session.log"
if [ "$MODE" = gpu ] && ! grep -q "^GPU " "$OUT/versions.txt"; then
  log "no CUDA GPU visible to $PY: stopping (use --dry-run on a CPU)"; cat "$WORK/versions.err" >> "$OUT/session.log"; exit 4
fi

# ----------------------------------------------------------------------------- data

if [ -n "${CT_DATA:-}" ]; then DATA=$CT_DATA; log "data: $DATA (CT_DATA)"
elif [ "${CT_SYNTHETIC:-0}" != 1 ] && [ -f "../shared/data/$CRIS_NAME" ]; then
  DATA=../shared/data/$CRIS_NAME; log "data: real CRIS narratives ($DATA)"
elif [ "${CT_SYNTHETIC:-0}" != 1 ] && [ -f "$DATA_DIR/$CRIS_NAME" ]; then DATA=$DATA_DIR/$CRIS_NAME; log "data: real CRIS narratives ($DATA, carried)"
else
  DATA=$WORK/synthetic.csv
  why="../shared/data and $DATA_DIR absent"; [ "${CT_SYNTHETIC:-0}" = 1 ] && why="CT_SYNTHETIC=1"
  log "data: NO real narratives ($why): SYNTHETIC narratives, 2,000 of them;" \
      "the figures are for synthetic text (shorter, more regular than CRIS)"
  timeout 120 "$PY" crashtransformer.py --log_dir "$WORK/logs" --log_level WARNING prepare-data --source synthetic \
    --num_examples 2000 --output "$DATA" > "$WORK/prepare.txt" 2>&1 || { tail -20 "$WORK/prepare.txt"; exit 5; }
fi
echo "data: $DATA" >> "$OUT/versions.txt"

# ----------------------------------------------------------------------------- benchmarks

if [ "$MODE" = gpu ]; then
  # 1,000 crashes: fewer leave `run`'s fixed costs (model load, worker start-up) in the ratio
  DEV=cuda RUN_ROWS=1000 BASE_ROWS=200 NEW=128 BASE_NEW=64 STEPS=30 TRAIN_ROWS=800 BATCH=32 BASE_BATCH=64 BF16=--bf16
  T_RUN=200 T_RUN_BASE=110 T_TRAIN=60 T_TRAIN_BASE=80 T_OVERLAP=90 OVERLAP_ROWS=2000 OVERLAP_WORKERS=4
else  # the same commands on a CPU, tiny, so each is shown to parse and start
  DEV=cpu RUN_ROWS=8 BASE_ROWS=4 NEW=4 BASE_NEW=4 STEPS=1 TRAIN_ROWS=16 BATCH=2 BASE_BATCH=2 BF16=
  T_RUN=400 T_RUN_BASE=400 T_TRAIN=300 T_TRAIN_BASE=400 T_OVERLAP=300 OVERLAP_ROWS=8 OVERLAP_WORKERS=1
fi

run_step run_shipped "$T_RUN" "$PY" bench/bench_run.py --device "$DEV" --narratives "$DATA" --rows "$RUN_ROWS" \
  --beams 1 4 --max_new_tokens "$NEW"
run_step run_base-like "$T_RUN_BASE" "$PY" bench/bench_run.py --device "$DEV" --narratives "$DATA" \
  --rows "$BASE_ROWS" --beams 1 4 --max_new_tokens "$BASE_NEW" --model_size base-like
run_step train_small "$T_TRAIN" "$PY" bench/bench_train.py --device "$DEV" $BF16 --data "$DATA" --size small \
  --steps "$STEPS" --rows "$TRAIN_ROWS" --batch_size "$BATCH"
run_step train_base-like "$T_TRAIN_BASE" "$PY" bench/bench_train.py --device "$DEV" $BF16 --data "$DATA" \
  --size base-like --steps "$STEPS" --rows "$TRAIN_ROWS" --batch_size "$BASE_BATCH"
run_step overlap "$T_OVERLAP" "$PY" bench/bench_overlap.py --device "$DEV" --narratives "$DATA" \
  --rows "$OVERLAP_ROWS" --workers 0 "$OVERLAP_WORKERS"

log "session done in $(elapsed)s; tables in $OUT: $(cd "$OUT" && ls | tr '\n' ' ')"
rm -rf "$WORK"
