#!/usr/bin/env bash
# Packs what scripts/device-bench.sh needs on a lent GPU machine (README, "On a real GPU") into
# .device/bundle.tar.xz (ignored by git): that machine has NVIDIA's driver but no Node, no Vulkan
# loader and no registry to fetch them from. Then, with the device tool, one call:
#   run  carry ['.device']  command 'bash scripts/device-bench.sh'  timeout_s 570
# What travels (the tracked files and .device) must stay under the tool's 64 MiB; this says how much
# is left. Needs the registries (apt) and binutils' strip; run it after scripts/setup.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run --silent build
out=.device stage=.device/stage
rm -rf "$out" && mkdir -p "$stage/app"
grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude

# Node, without its debug info (99 -> 86 MB; 22 MB compressed).
cp "$(command -v node)" "$stage/node" && strip --strip-all "$stage/node"

# The app: the built JS and the production dependencies, Dawn for linux-x64 only (stripped).
cp package.json "$stage/app/"
mkdir -p "$stage/app/dist" && cp -r dist/src "$stage/app/dist/src"
find "$stage/app/dist" -name '*.map' -delete
npm ls --omit=dev --all --parseable | tail -n +2 | sed "s|^$PWD/||" | sort -u | while read -r pkg; do
  mkdir -p "$stage/app/$(dirname "$pkg")" && cp -r "$pkg" "$stage/app/$pkg"
done
dawn=node_modules/webgpu/dist
find "$stage/app/$dawn" -mindepth 1 -maxdepth 1 -type d ! -name linux-x64 -exec rm -rf {} +
strip --strip-all "$stage/app/$dawn/linux-x64/dawn.node"

# The Vulkan loader (Dawn dlopens libvulkan.so.1; NVIDIA's ICD is on that machine).
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/llava-device-apt'
mkdir -p /tmp/llava-device-apt/partial
apt-get $o update -qq >/dev/null
(cd "$stage" && apt-get $o download -qq libvulkan1 2>/dev/null)
ls "$stage"/libvulkan1_*.deb >/dev/null

tar -C "$stage" -cf - . | xz -T0 -9e > "$out/bundle.tar.xz"
rm -rf "$stage"
bundle=$(stat -c %s "$out/bundle.tar.xz")
tree=$(git ls-files -z | xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')
untracked=$(git ls-files -z --others --exclude-standard | xargs -0 -r stat -c %s | awk '{s += $1} END {print s + 0}')
limit=$((64 << 20))
total=$((bundle + tree + untracked))
echo "device-pack: .device/bundle.tar.xz $((bundle >> 20)) MiB; tracked files $((tree >> 20)) MiB, untracked $((untracked >> 20)) MiB;" \
  "$(( (limit - total) >> 20 )) MiB left under the device tool's 64 MiB"
[ "$total" -le "$limit" ] || { echo "device-pack: over the 64 MiB a call may carry" >&2; exit 1; }
