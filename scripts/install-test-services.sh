#!/usr/bin/env bash
# Installs what the test suite needs besides Python packages, only when missing:
# PostgreSQL (Debian), Chromium (Debian), Prism (npm). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need_apt+=(postgresql)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v node >/dev/null 2>&1 || need_apt+=(nodejs npm)
if ((${#need_apt[@]})); then
  echo "installing ${need_apt[*]} (apt)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if [ ! -x node_modules/.bin/prism ]; then
  echo "installing Prism (npm)"
  npm install --no-audit --no-fund --silent --no-save @stoplight/prism-cli@5.14.2 >/dev/null
fi
