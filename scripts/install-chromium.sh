#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests (playwright-core drives /usr/bin/chromium; no
# browser is downloaded by npm). Idempotent: does nothing when chromium already runs.
set -euo pipefail

CHROMIUM="${STEERBENCH_CHROMIUM:-/usr/bin/chromium}"

if [ -x "$CHROMIUM" ] && "$CHROMIUM" --version >/dev/null 2>&1; then
  echo "chromium present: $("$CHROMIUM" --version)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-chromium: need root (or sudo) to apt-get install chromium" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
# fonts-dejavu-core: a real font for the report screenshots; chromium pulls in the rest.
$SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core

echo "chromium installed: $("$CHROMIUM" --version)"
