#!/usr/bin/env bash
# Times the demo questions on another commit and on this working tree, alternated (the machine is
# shared and noisy: only ratios from one run mean anything). Usage: scripts/compare-commits.sh REV [ROUNDS]
# REV is built in a temporary worktree (npm ci + build); this tree must be built (npm run build).
set -euo pipefail
cd "$(dirname "$0")/.."
rev="${1:?usage: scripts/compare-commits.sh REV [ROUNDS]}"; rounds="${2:-2}"
base="$(mktemp -d)/base"
git worktree add -q --detach "$base" "$rev"
trap 'git worktree remove --force "$base"' EXIT
(cd "$base" && npm ci --no-audit --no-fund --loglevel=error >/dev/null && npm run --silent build)
model=models/llava-st-synth
video=(--video "$model/samples/demo2_stvg.mp4" --task stvg --query "the blue circle")
image=(--image "$model/samples/image1_rec.png" --task rec --query "the red square")
one() { # DIR LABEL ARGS...: wall time and run --json timings of one question
  local dir=$1 label=$2; shift 2
  local t0 t1 out; t0=$(date +%s.%N)
  out="$(cd "$dir" && node dist/src/cli/main.js run --model "$model" "$@" --json 2>/dev/null)"
  t1=$(date +%s.%N)
  OUT="$out" node -e "const r = JSON.parse(process.env.OUT), t = r.timings;
    console.log('$label'.padEnd(14), 'wall', ($t1 - $t0).toFixed(1).padStart(5), 's  vision+prefill', (t.prefillMs / 1000).toFixed(2).padStart(6),
      's  decode', (t.decodeMs / 1000).toFixed(2).padStart(5), 's  ids', JSON.stringify(r.ids).slice(0, 32) + '…')"
}
for ((i = 1; i <= rounds; i++)); do
  one "$base" "$rev video" "${video[@]}"; one . "this video" "${video[@]}"
  one "$base" "$rev image" "${image[@]}"; one . "this image" "${image[@]}"
done
