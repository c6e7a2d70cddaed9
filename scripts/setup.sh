#!/usr/bin/env bash
# Installs what a fresh Debian/Ubuntu machine without a GPU needs to run llava-st-webgpu:
#   (and headless Chromium on Debian, for the browser test)
#   - Mesa's lavapipe (software Vulkan) >= 25: Dawn refuses older drivers
#     ("shaderUniform*ArrayDynamicIndexing required"; bookworm ships 22.3, backports 25.x)
#   - the Vulkan loader (libvulkan1) and ffmpeg (video decoding)
#   - the npm dependencies, and the TypeScript build
# Idempotent: prints nothing but a one-line summary when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'setup: %s\n' "$*" >&2; }
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

lavapipe_version() {
  dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | sed -E 's/^[0-9]+://; s/[^0-9.].*$//'
}
lavapipe_ok() {
  local v; v="$(lavapipe_version)"
  [ -n "$v" ] && [ "${v%%.*}" -ge 25 ]
}

# The mirror is taken from the machine's own apt sources (deb822 URIs: or one-line deb entries),
# so the script works behind whatever mirror or snapshot the machine is configured for.
debian_mirror() {
  { grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}'
    grep -hE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{for(i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) {print $i; break}}'
  } | grep -vE 'security|nodesource|google|docker' | grep -E '/debian/?$' | head -n1 || true
}

need_apt=()
if ! lavapipe_ok; then need_apt+=(mesa-vulkan-drivers); fi
dpkg-query -W -f='${Status}' libvulkan1 2>/dev/null | grep -q "ok installed" || need_apt+=(libvulkan1)
command -v ffmpeg >/dev/null 2>&1 || need_apt+=(ffmpeg)
# Headless Chromium runs the browser test (WebGPU through navigator.gpu). Debian packages it; on
# Ubuntu it is a snap, so there the browser test skips itself.
. /etc/os-release
if [ "${ID:-}" = debian ] && [ ! -x /usr/bin/chromium ]; then need_apt+=(chromium); fi

if [ "${#need_apt[@]}" -gt 0 ]; then
  codename="${VERSION_CODENAME:-}"
  if [ "${ID:-}" = debian ] && ! lavapipe_ok; then
    mirror="$(debian_mirror)"
    if [ -z "$mirror" ]; then
      log "cannot find a Debian mirror in /etc/apt/sources*: add ${codename}-backports by hand"; exit 1
    fi
    list=/etc/apt/sources.list.d/llava-st-backports.list
    if [ ! -f "$list" ]; then
      log "adding ${codename}-backports from $mirror"
      echo "deb $mirror ${codename}-backports main" | $SUDO tee "$list" >/dev/null
    fi
  fi
  log "installing ${need_apt[*]} (apt)"
  $SUDO apt-get update -qq >/dev/null
  export DEBIAN_FRONTEND=noninteractive
  if [ "${ID:-}" = debian ] && [[ " ${need_apt[*]} " == *" mesa-vulkan-drivers "* ]]; then
    $SUDO apt-get install -y -qq -t "${codename}-backports" mesa-vulkan-drivers libvulkan1 >/dev/null
  fi
  $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  lavapipe_ok || { log "lavapipe $(lavapipe_version) is too old for Dawn (need >= 25)"; exit 1; }
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
npm run --silent build
log "ok: lavapipe $(lavapipe_version), $(ffmpeg -version 2>/dev/null | head -n1 | cut -d' ' -f1-3), node $(node --version)"
