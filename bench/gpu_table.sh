#!/usr/bin/env bash
# One prepared GPU run: the speed benchmark, then the whole reproduce table, into ONE folder.
#
#   bash bench/gpu_table.sh                 # OUT=runs/gpu-<date>; about 10 minutes on an H100/H200
#   OUT=/tmp/out ONLY=lesson-resnet,ours-5ep bash bench/gpu_table.sh    # a part of the table
#   bash bench/gpu_table.sh                 # again: --resume keeps the rows already finished
#
# Writes OUT/nvidia-smi.txt, OUT/speed/*.json (bench/train_speed.py: bf16 autocast, channels_last,
# data on the device, torch.compile; the 1.23M ResNet at batch size 1024), OUT/reproduce/
# (results.json, results.md, reproduce.png, one folder per run) and OUT/bench/ (one JSON per
# run, to copy into bench/results/). Never run here: this session had no GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/gpu-$(date +%F)}
PY=${PY:-python}
COMPILE=${COMPILE:---compile}
mkdir -p "$OUT/speed" "$OUT/reproduce" "$OUT/bench"
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1 || true
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

echo "== speed: resnet, bs 1024, 3 epochs"
$PY bench/train_speed.py --recipe lesson-resnet --device cuda $COMPILE --bs 1024 --epochs 3 \
    --out "$OUT/speed" --tag bs1024 2>&1 | tee "$OUT/speed/speed.log"

echo "== reproduce: ${ONLY:-every experiment}"
$PY -m torch_side.cli reproduce ${ONLY:+--only "$ONLY"} --device cuda $COMPILE --resume \
    --out "$OUT/reproduce" --bench-dir "$OUT/bench" --no-progress 2>&1 | tee "$OUT/reproduce.log"
echo "== done: $OUT"
