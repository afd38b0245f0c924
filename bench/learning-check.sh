#!/usr/bin/env bash
# Issue 5's learning check, end to end: a phantom set, its cache, an evaluation classifier trained by
# the engine on the real phantom images, a CGAN trained on a reduced config for a bounded number of
# steps, and `xraygen evaluate`: conditional accuracy (does the classifier label generated images of
# each class as that class?), Fréchet distance and diversity. Figures: bench/RESULTS.md.
#
# Usage: bash bench/learning-check.sh [WORK_DIR]   (environment: COUNT, CONFIG, BATCH, STEPS, SEED, EMA, MISMATCH, LR_DECAY, SAVED_ACTIVATIONS)
set -euo pipefail

usage='usage: bash bench/learning-check.sh [WORK_DIR]   (environment: COUNT, CONFIG, BATCH, STEPS, SEED, EMA, MISMATCH, LR_DECAY, SAVED_ACTIVATIONS)'
case "${1-}" in
  -h | --help) echo "$usage"; exit 0 ;;
  -*) echo "bench/learning-check.sh: unknown option '$1'; $usage" >&2; exit 2 ;;
esac
[ $# -le 1 ] || { echo "bench/learning-check.sh: one WORK_DIR at most; $usage" >&2; exit 2; }

work=${1:-/tmp/xraygen-learning-check}
count=${COUNT:-1500}
config=${CONFIG:-mini}
batch=${BATCH:-32}
steps=${STEPS:-3000}
seed=${SEED:-2}
# The recipe that passed (bench/RESULTS.md): a weight-averaged generator, a D that learns the label, and
# learning rates that decay linearly to zero over the second half. EMA=, MISMATCH= or LR_DECAY= (empty)
# turns one off; LR_DECAY=N starts the decay at step N.
ema_decay=${EMA-0.999}
mismatch_weight=${MISMATCH-1}
ema=${ema_decay:+--ema $ema_decay}
mismatch=${mismatch_weight:+--mismatch $mismatch_weight}
lr_decay_start=${LR_DECAY-$((steps / 2))}
lr_decay=${lr_decay_start:+--lr-decay $lr_decay_start}
# f32 (default) or f16: how training keeps activations for backward (engine/ops/half-storage.ts).
saved_activations=${SAVED_ACTIVATIONS:-f32}
xraygen() { npx tsx "$(dirname "$0")/../pipeline/cli.ts" "$@"; }

mkdir -p "$work"
[ -f "$work/cache/manifest.json" ] || { xraygen phantom --out "$work/phantom" --count "$count" && xraygen prepare --data "$work/phantom" --out "$work/cache"; }
[ -f "$work/classifier/weights.safetensors" ] || xraygen train classifier --data "$work/cache" --out "$work/classifier"
time xraygen train cgan --data "$work/cache" --out "$work/cgan" --config "$config" --batch "$batch" --steps "$steps" --seed "$seed" \
  --sample-every 250 --checkpoint-every 250 --keep 20 --autotune --saved-activations "$saved_activations" $ema $mismatch $lr_decay
xraygen evaluate --weights "$work/cgan" --data "$work/cache" --classifier "$work/classifier" --no-sr --count 100 --out "$work/evaluation"
