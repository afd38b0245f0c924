#!/usr/bin/env bash
# Trains the shipped default weights (models/weights/) from scratch, each model for a bounded wall
# time: phantom set -> cache -> CGAN (batch 64, --mismatch 1, --ema 0.999) -> SRGAN (batch 16, 96-px
# crops) -> F16 copies for shipping. Each training is stopped by SIGTERM at its time limit, which
# makes xraygen finish the step, write a checkpoint and weights, and exit 0 (its Ctrl-C path).
#
#   [CGAN_SECONDS=330] [SRGAN_SECONDS=90] [SR_PRETRAIN=1000] [COUNT=1500] [CONFIG=paper] \
#     bash scripts/train-default-weights.sh WORK SHIP
#
# WORK holds the data and the runs; SHIP receives cgan.safetensors and srgan.safetensors.
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:?usage: scripts/train-default-weights.sh WORK SHIP}
ship=${2:?usage: scripts/train-default-weights.sh WORK SHIP}
cgan_seconds=${CGAN_SECONDS:-330}
srgan_seconds=${SRGAN_SECONDS:-90}
config=${CONFIG:-paper}
# node itself, so that this also runs where npm and npx are not installed, and xraygen in one process:
# timeout signals the whole process group, and tsx's CLI would relay a second SIGTERM (= abort).
tsx=(node node_modules/tsx/dist/cli.mjs)
xraygen=(node bin/xraygen.js)
mkdir -p "$work" "$ship"

[ -d "$work/cache" ] || "${xraygen[@]}" phantom --out "$work/phantom" --count "${COUNT:-1500}" --seed 1
[ -d "$work/cache" ] || "${xraygen[@]}" prepare --data "$work/phantom" --out "$work/cache"

# --preserve-status: the run's own exit code (0 after a SIGTERM-triggered checkpoint), not 124;
# --foreground: the signal goes to xraygen once (a second one, sent to the process group, would abort).
echo "== cgan: ${cgan_seconds} s ($(date +%T))"
timeout --foreground --preserve-status -k 120 -s TERM "$cgan_seconds" "${xraygen[@]}" train cgan --data "$work/cache" --out "$work/cgan" \
  --config "$config" --batch 64 --mismatch 1 --ema 0.999 --autotune --steps 10000000 \
  --sample-every 500 --checkpoint-every 1000 --keep 1 --seed 1
echo "== srgan: ${srgan_seconds} s ($(date +%T))"
timeout --foreground --preserve-status -k 120 -s TERM "$srgan_seconds" "${xraygen[@]}" train srgan --data "$work/cache" --out "$work/srgan" \
  --config "$config" --batch 16 --pretrain-steps "${SR_PRETRAIN:-1000}" --autotune --steps 10000000 \
  --sample-every 500 --checkpoint-every 1000 --keep 1 --seed 1
echo "== shipping ($(date +%T))"
"${tsx[@]}" scripts/ship-weights.ts "$work/cgan/weights.safetensors" "$ship/cgan.safetensors"
"${tsx[@]}" scripts/ship-weights.ts "$work/srgan/weights.safetensors" "$ship/srgan.safetensors" --generator-only
