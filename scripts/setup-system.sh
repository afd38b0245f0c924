#!/usr/bin/env bash
# Installs what the engine needs from the system on a GPU-less Debian 12 machine:
# a Vulkan loader and Mesa >= 24 (lavapipe), which Dawn requires; bookworm's own Mesa 22.3 is rejected.
# Idempotent; run as root. Set WITH_BROWSER=1 to also install Chromium, WITH_REFERENCE=1 for torch/opencv.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then echo "setup-system.sh: run as root (it calls apt-get)" >&2; exit 2; fi
export DEBIAN_FRONTEND=noninteractive

mesa_version() { dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null | sed -E 's/^[0-9]+://; s/^([0-9]+).*/\1/'; }

packages=()
if [ "$(mesa_version || true)" = "" ] || [ "$(mesa_version)" -lt 24 ] || ! dpkg -s libvulkan1 >/dev/null 2>&1; then
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  if ! grep -rqs "${codename}-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "deb http://deb.debian.org/debian ${codename}-backports main" > /etc/apt/sources.list.d/backports.list
  fi
  apt-get update -qq
  apt-get install -y -qq -t "${codename}-backports" mesa-vulkan-drivers libvulkan1 >/dev/null
  updated=1
fi
if [ "${WITH_BROWSER:-0}" = 1 ] && ! command -v chromium >/dev/null; then packages+=(chromium); fi
if [ "${WITH_REFERENCE:-0}" = 1 ]; then packages+=(python3-torch python3-opencv); fi
if [ ${#packages[@]} -gt 0 ]; then
  [ "${updated:-0}" = 1 ] || apt-get update -qq
  apt-get install -y -qq "${packages[@]}" >/dev/null
fi
echo "setup-system: mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers), libvulkan1 $(dpkg-query -W -f='${Version}' libvulkan1)"
