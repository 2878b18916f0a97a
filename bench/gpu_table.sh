#!/usr/bin/env bash
# One prepared GPU run: the speed benchmarks first, then our 5- and 20-epoch recipes, then the
# lesson's table, each row written as soon as it ends (a run cut short keeps what finished).
#
#   bash bench/gpu_table.sh                       # OUT=runs/gpu-<date>, every step
#   TINY=1 bash bench/gpu_table.sh                # a CPU dry run: 600 images, 1 epoch a row
#   OUT=/tmp/o DEADLINE=450 bash bench/gpu_table.sh # all done (and packed) within 450 s
#
# OUT gets four files (a device tool may bring back only a few): summary.md (every row, as it
# lands; bench/gpu_summary.py), nvidia-smi.txt, run.log, results.tar.gz (speed and optim JSONs,
# reproduce's results.json/.md/.png, one JSON per row, the runs' histories and plots; no
# checkpoints), rewritten every 20 s and after each step. Work files live in WORK (default
# runs/gpu-work). The data: XLOPT_DATA or the Debian package. Measured on an H200 (2026-12-04,
# DEADLINE=440): everything up to the second seed fits; bench/results/h200-2026-12-04.md.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/gpu-$(date +%F)}
WORK=${WORK:-runs/gpu-work}
PY=${PY:-python3}
DEADLINE=${DEADLINE:-100000}  # seconds: every step ends by then (cut short), later ones are skipped
T0=$SECONDS
mkdir -p "$OUT" "$WORK"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
if [[ -n ${TINY:-} ]]; then
    DEV=cpu SMALL="--subset 600 --epochs 1 --bs 64" BS=64; SPEED=(--subset 600 --epochs 2 --no-compare)
else
    DEV=cuda SMALL="" BS=1024; SPEED=(--epochs 4 --no-compare)
fi
export DEV SMALL PY WORK
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || echo "no nvidia-smi" > "$OUT/nvidia-smi.txt"
exec > >(tee -a "$OUT/run.log") 2>&1

pack() {  # the summary and one tarball, rewritten after every step
    "$PY" bench/gpu_summary.py "$WORK" > "$OUT/summary.md.tmp" 2>/dev/null && mv "$OUT/summary.md.tmp" "$OUT/summary.md"
    tar czf "$OUT/results.tar.gz.tmp" --exclude='*.pt' -C "$WORK" . 2>/dev/null && mv "$OUT/results.tar.gz.tmp" "$OUT/results.tar.gz"
}
step() {  # step NAME SECONDS_LIMIT COMMAND...: run within its limit and the DEADLINE, then pack
    local name=$1 limit=$2; shift 2
    local used=$((SECONDS - T0))
    local left=$((DEADLINE - used))
    if (( left < 20 )); then echo "== skip $name (deadline: ${used}s used)"; return; fi
    (( limit > left )) && limit=$left
    echo "== $name (at ${used}s, up to ${limit}s)"
    timeout "$limit" "$@" || echo "== $name ended with status $?"
    pack
}
repro() {  # repro SEED NAME,NAME...: reproduce rows into WORK/seed-SEED (resumable)
    # shellcheck disable=SC2086
    "$PY" -m torch_side.cli reproduce --only "$2" --device "$DEV" --seed "$1" --resume \
        --out "$WORK/seed-$1" --no-progress $SMALL
}
export -f repro
variant() {  # variant NAME RECIPE OPTIONS...: one recipe with overrides, into WORK/variants/NAME
    local name=$1 recipe=$2; shift 2
    # shellcheck disable=SC2086
    "$PY" -m torch_side.cli train --recipe "$recipe" --device "$DEV" --no-progress \
        --out "$WORK/variants/$name" "$@" $SMALL
}
export -f variant
( while sleep 20; do pack; done ) & PACKER=$!
trap 'kill $PACKER 2>/dev/null; pack' EXIT

step "speed: the 1.23M ResNet at bs 1024, eager" 120 \
    "$PY" bench/train_speed.py --recipe lesson-resnet --device "$DEV" --bs "$BS" "${SPEED[@]}" \
    --out "$WORK/speed" --tag bs1024
step "ours, 5 epochs" 200 bash -c 'repro "$@"' repro 42 hires-5ep,ours-5ep,resnet-5ep
step "ours, 20 epochs" 300 bash -c 'repro "$@"' repro 42 hires-20ep,ours-20ep
step "a 5-epoch variant: hires-5ep with crop+flip" 60 \
    bash -c 'variant "$@"' variant hires-5ep-cropflip hires-5ep --augment crop,flip
step "the lesson's 5-epoch rows" 200 \
    bash -c 'repro "$@"' repro 42 lesson-resnet,lesson-conv,lesson-deep-conv,lesson-wide,lesson-gap-wide,lesson-gap,lesson-gap-stem
step "optimizer step times" 90 "$PY" bench/optim_speed.py --device "$DEV" --steps 20 --repeats 3 \
    --out "$WORK/speed"
step "ours, second seed" 200 bash -c 'repro "$@"' repro 0 hires-5ep,hires-20ep
step "speed: the 1.23M ResNet at bs 1024, torch.compile" 150 \
    "$PY" bench/train_speed.py --recipe lesson-resnet --device "$DEV" --bs "$BS" "${SPEED[@]}" \
    --compile --out "$WORK/speed" --tag bs1024-compile
step "the lesson's longer rows" 600 \
    bash -c 'repro "$@"' repro 42 lesson-aug-20ep,aug-20ep,lesson-noaug-20ep,lesson-erase-50ep,ours-50ep,erase-50ep,lesson-copy-2x25ep
echo "== done in $((SECONDS - T0)) s: $OUT"
