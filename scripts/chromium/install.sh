#!/usr/bin/env bash
# Installs (when missing) Debian's chromium, the headless browser the chat page's browser test drives
# (tests/Host.Tests/ChatPage). Idempotent: an installed chromium is left alone. Prints the executable's path.
set -euo pipefail

find_chromium() {
  for c in "${PIPELINE_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
    [ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return 0; }
  done
  return 1
}

if path=$(find_chromium); then echo "chromium: $path"; exit 0; fi

sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "chromium: installing Debian's chromium" >&2
$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
path=$(find_chromium) || { echo "chromium: installed, but no executable at /usr/bin/chromium" >&2; exit 1; }
echo "chromium: $path"
