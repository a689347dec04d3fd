#!/usr/bin/env bash
# Installs what the test suite needs besides Python packages, only when missing:
# PostgreSQL, Chromium and a colour emoji font for it (Debian), Node + npm, Prism (npm; `npm ci` from the lock file
# when there is one). `--bench` adds wrk, the load generator of `make bench`.
# Safe to run again; does nothing when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need_apt+=(postgresql)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
# Pages show emoji (🚨 on the consent and sandbox pages): without a colour emoji font
# Chromium draws an empty box (issue 21).
[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || need_apt+=(fonts-noto-color-emoji)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
if [ "${1:-}" = "--bench" ]; then
  command -v wrk >/dev/null 2>&1 || need_apt+=(wrk)
fi
if ((${#need_apt[@]})); then
  echo "installing ${need_apt[*]} (apt)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  apt_opts=(-o DPkg::Lock::Timeout=300 -y -qq --no-install-recommends)
  $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install "${apt_opts[@]}" "${need_apt[@]}" >/dev/null
fi

if [ ! -x node_modules/.bin/prism ]; then
  echo "installing Prism (npm)"
  if [ -f package-lock.json ]; then
    npm ci --no-audit --no-fund --silent >/dev/null
  else
    npm install --no-audit --no-fund --silent --no-save @stoplight/prism-cli@5.14.2 >/dev/null
  fi
fi
node_modules/.bin/prism --version >/dev/null
