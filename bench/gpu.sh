#!/usr/bin/env bash
# The benchmarks on a machine with an NVIDIA GPU that has no Node (the lent GPU machine of
# bench/RESULTS.md): Dawn's Vulkan backend on the NVIDIA driver, beside PyTorch CUDA on the same card.
#
#   bash bench/gpu.sh pack        here: writes .device/ (Node, the node_modules the benches need, the
#                                 Vulkan loader and glvnd), about 34 MB compressed, to travel with the working tree
#   bash bench/gpu.sh run OUT [STAGES]
#                                 there: unpacks .device/, then runs bench/conv-agreement.ts, npm run bench
#                                 (TF.js on the same adapter, PyTorch on CUDA, full training steps),
#                                 a profile of the CGAN training step, the test suite and bench/generate.ts, into OUT;
#                                 STAGES (e.g. agreement,kernels,profile) runs only those, to save device time;
#                                 `buffers` (only when named): an A/B of the gathers' double-buffered workgroup memory;
#                                 `saved` (only when named): bench/saved-activations.ts, f32 against f16 kept activations
#                                 `budget` (only when named): bench/vram-budget.ts, steps with and without evictions
#                                 `recording` (only when named): bench/recording.ts, the CPU time to record a training step
#   bash bench/gpu.sh with CMD...  there: unpacks .device/, then runs CMD (e.g. a training run)
set -uo pipefail
cd "$(dirname "$0")/.."
pack=.device

# What the benches import at run time (tsx and esbuild, Dawn for linux-x64, TF.js's node bundles,
# uvu for the tests); compilers, browsers and the other platforms' Dawn builds stay behind.
modules=(@esbuild @kurkle @tensorflow @webgpu ansi-regex chart.js cli-progress commander debug dequal diff emoji-regex
  esbuild is-fullwidth-code-point kleur long mri ms node-fetch pngjs sade seedrandom string-width strip-ansi tr46 tsx
  uvu webgpu webidl-conversions wgsl_reflect whatwg-url)

pack_up() {
  mkdir -p "$pack"
  local staging
  staging=$(mktemp -d)
  mkdir "$staging/node_modules"
  for module in "${modules[@]}"; do cp -a "node_modules/$module" "$staging/node_modules/"; done
  for platform in darwin-universal linux-arm64 win32-arm64 win32-x64; do rm -rf "$staging/node_modules/webgpu/dist/$platform"; done
  # TF.js ships thousands of per-op modules beside the one bundle Node loads.
  for package in tfjs-core tfjs-backend-webgpu tfjs-backend-cpu; do
    main=$(node -p "require('./node_modules/@tensorflow/$package/package.json').main")
    find "$staging/node_modules/@tensorflow/$package" -type f ! -path "*/$main" ! -name package.json -delete
  done
  tar -C "$staging" -cf - node_modules | xz -T0 -9 > "$pack/node_modules.tar.xz"
  rm -rf "$staging"
  xz -T0 -9 -c "$(readlink -f "$(command -v node)")" > "$pack/node.xz"
  # The NVIDIA Vulkan driver is libGLX_nvidia, which needs the glvnd libraries: with the loader alone,
  # Dawn found no Vulkan driver on the lent H200.
  (cd "$pack" && apt-get download libvulkan1 libglvnd0 libgl1 libglx0 libegl1 libopengl0 libgles2 >/dev/null)
  du -sh "$pack"/*
}

unpack() {
  mkdir -p /tmp/node/bin
  # Python's lzma rather than xz(1), which a CUDA image need not have.
  python3 - "$pack" <<'EOF'
import lzma, shutil, sys, tarfile
pack = sys.argv[1]
with lzma.open(f"{pack}/node.xz") as source, open("/tmp/node/bin/node", "wb") as target:
    shutil.copyfileobj(source, target)
with tarfile.open(f"{pack}/node_modules.tar.xz", "r:xz") as archive:
    archive.extractall(".")
EOF
  chmod +x /tmp/node/bin/node
  export PATH=/tmp/node/bin:$PATH
  for deb in "$pack"/*.deb; do dpkg -x "$deb" /; done
  ldconfig
  local icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; fi
  export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
}

# stage NAME SECONDS COMMAND...: one step's output to OUT/NAME.log; a failed or slow step does not stop the rest.
stage() {
  local name=$1 limit=$2
  shift 2
  if [[ ",$stages," != *",$name,"* ]]; then return; fi
  echo "== $name ($(date +%T))"
  timeout "$limit" "$@" > "$out/$name.log" 2>&1
  echo "   exit $? after step $name ($(date +%T))"
  grep -v '^Warning: maxDynamic' "$out/$name.log" | tail -n 40
}

run_all() {
  out=${1:?usage: bench/gpu.sh run OUT [STAGES]}
  stages=${2:-agreement,kernels,profile,tests,generate}
  mkdir -p "$out"
  unpack
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  local tsx=(node node_modules/tsx/dist/cli.mjs)
  # The GPU's clocks, power and clock-event reasons every 250 ms while the stages run (clocks.csv), to
  # set beside the bench's times: passes timed in one stretch of a run have taken up to 1.9x their
  # kernel time from earlier in the run (RESULTS.md, 2026-11-26). Older drivers name the reasons "throttle".
  local reasons=clocks_event_reasons.active
  nvidia-smi --query-gpu=$reasons --format=csv,noheader >/dev/null 2>&1 || reasons=clocks_throttle_reasons.active
  nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu,utilization.gpu,$reasons --format=csv -lms 250 > "$out/clocks.csv" 2>&1 &
  local sampler=$!
  # Most telling first: a lease is 15 minutes, and the limits below add up to 10 (the default stages
  # took 4 minutes on the H100 with one round).
  # The defaults, then the split tiles (tuner candidates, not defaults) at full size; one log, as at most 8 files come back.
  stage agreement 90 bash -c 'for gather in "" tile64x64s tile128x128s; do node node_modules/tsx/dist/cli.mjs bench/conv-agreement.ts ${gather:+--gather $gather} || exit 1; done'
  # Three rounds: each pass's median over them (bench/kernels.ts --rounds; RESULTS.md says why).
  stage kernels 300 "${tsx[@]}" bench/kernels.ts --autotune --rounds 3 --repeats 20 --step-runs 9 --torch-device cuda --json "$out/kernels.json"
  # Not by default: tiles with one copy of workgroup memory (B) against the default (A), kernel times.
  stage buffers 120 "${tsx[@]}" bench/kernels.ts --autotune --compare tileBuffers=1 --repeats 20
  stage profile 60 "${tsx[@]}" pipeline/cli.ts profile train-cgan --steps 3 --autotune --trace "$out/trace-cgan.json"
  # Not by default: the training steps with activations kept in f32 and in f16 (what the packing costs on a GPU).
  stage saved 90 "${tsx[@]}" bench/saved-activations.ts --rounds 4
  # Not by default: the training steps in budgets that make the pool evict (what re-creating buffers costs on a GPU).
  stage budget 90 "${tsx[@]}" bench/vram-budget.ts --rounds 4
  # Not by default: the CPU time to record a training step, which a fast GPU waits for.
  stage recording 60 "${tsx[@]}" bench/recording.ts --rounds 10 --kernels
  stage tests 90 "${tsx[@]}" node_modules/uvu/bin.js test '\.test\.ts$'
  # (Its figures are in generate.log: at most 8 files come back.)
  stage generate 60 "${tsx[@]}" bench/generate.ts
  kill "$sampler" 2>/dev/null
}

case "${1:-}" in
  pack) pack_up ;;
  run) run_all "${2:-}" "${3:-}" ;;
  with) shift; unpack; "$@" ;;
  *) echo "usage: bash bench/gpu.sh pack | run OUT [STAGES] | with CMD..." >&2; exit 2 ;;
esac
