#!/usr/bin/env bash
# Make sure the browser the refresh worker's Dreamina login drives is installed: Debian's Chromium at
# /usr/bin/chromium (Playwright drives it; Playwright's own browser download is not used). Installs
# the `chromium` package with apt-get when it is missing and this runs as root; otherwise says how.
# Idempotent.
set -euo pipefail

readonly BROWSER="${POOLGATE_BROWSER_EXECUTABLE:-/usr/bin/chromium}"

if [[ -x "$BROWSER" ]]; then
    echo "browser: $BROWSER"
    exit 0
fi
if [[ "$BROWSER" == /usr/bin/chromium && "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "browser: installing Debian's chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium >/dev/null
    [[ -x "$BROWSER" ]] || { echo "ensure-browser: ERROR: chromium installed but $BROWSER is missing" >&2; exit 1; }
    echo "browser: $BROWSER"
    exit 0
fi
echo "ensure-browser: ERROR: $BROWSER not found; install Debian's chromium (apt-get install chromium)" \
    "or set POOLGATE_BROWSER_EXECUTABLE" >&2
exit 1
