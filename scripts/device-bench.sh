#!/usr/bin/env bash
# On a lent GPU machine, with the bundle of scripts/device-pack.sh carried in .device/: the adapter,
# its ceilings, the tuner (fixed trials, then the demo model's sizes), the kernel benchmarks, the
# real-size layers and the demo image question (twice: the second builds its pipelines ahead).
# Each step has its own time limit, cut to what is left of BUDGET seconds (default 570, for a call
# of timeout_s 600), and the next runs whatever it did.
# Back in $OUT (default ./device-out; at most 8 files come back): device.log (everything, in
# order), ceilings.json, kernels.json, model.json, attention.json, and the tuned tables and kernel
# lists in policy.tar.gz.
# Here, without a GPU, the same script runs on lavapipe: that is how it is tested.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/device-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/device.log") 2>&1
t0=$SECONDS
root=$(mktemp -d /tmp/llava-device.XXXXXX)
xz -dc .device/bundle.tar.xz | tar -C "$root" -xf - || { echo "device-bench: no .device/bundle.tar.xz (scripts/device-pack.sh, then carry .device)"; exit 1; }
for deb in "$root"/*.deb; do dpkg -x "$deb" "$root/vk"; done
export LD_LIBRARY_PATH="$root/vk/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES="$icd"
export XDG_RUNTIME_DIR="$root/xdg" LLAVA_ST_CACHE_DIR="$root/cache"
mkdir -m 700 -p "$XDG_RUNTIME_DIR"
cli=("$root/node" "$root/app/dist/src/cli/main.js")
BUDGET=${BUDGET:-570}
step() { # step NAME SECONDS COMMAND...: one line before and after, with its time and status
  local name=$1 limit=$2 left=$((BUDGET - (SECONDS - t0))); shift 2
  [ "$left" -lt "$limit" ] && limit=$left
  [ "$limit" -lt 5 ] && { echo "== $name: skipped, the budget is spent"; return; }
  echo "== $name (limit ${limit} s, at $((SECONDS - t0)) s)"
  local s=$SECONDS; timeout "$limit" "$@"; local rc=$?
  echo "== $name: rc $rc in $((SECONDS - s)) s"
}

# Dawn's dawn.node needs glibc >= 2.34, Node 20 >= 2.28: the first line says which this machine has.
step gpu 10 sh -c 'ldd --version | head -1; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>/dev/null || echo "no nvidia-smi"'
step adapter 30 "${cli[@]}" info
step ceilings 60 "${cli[@]}" bench ceilings --json "$OUT/ceilings.json"
step tune 60 "${cli[@]}" tune
step tune-model 60 "${cli[@]}" tune --model models/llava-st-synth
# Kernels whose check is quick on the host first; attention's references take the host minutes.
step kernels 150 "${cli[@]}" bench kernels --max-time 0.2 --json "$OUT/kernels.json" \
  --filter matmul.linear,matmul.big,matmul.roof.sub,gemv.,layernorm.f16,rmsnorm.f16,softmax.f16,narrow.,siluMul,rows.traffic
step model 90 "${cli[@]}" bench model --json "$OUT/model.json"
for round in cold warm; do
  step "image-$round" 30 "${cli[@]}" run --model models/llava-st-synth --image models/llava-st-synth/samples/image1_rec.png --task rec --query "the red square" --json
done
step attention 120 "${cli[@]}" bench kernels --max-time 0.2 --json "$OUT/attention.json" --filter attention.demo,attention.siglip,attention.decode
(cd "$root/cache" && tar -czf "$OUT/policy.tar.gz" policy-*.json kernels-*.json) 2>/dev/null
echo "== done in $((SECONDS - t0)) s"
rm -rf "$root"
