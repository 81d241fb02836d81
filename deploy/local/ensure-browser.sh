#!/usr/bin/env bash
# Make sure the browser the refresh worker's Dreamina login drives is installed: Debian's Chromium at
# /usr/bin/chromium (Playwright drives it; Playwright's own browser download is not used). Installs
# the `chromium` package with apt-get when it is missing and this runs as root; otherwise says how.
#
# Also makes sure a Chinese font is installed (`fonts-wqy-microhei`, 1.6 MB, when fontconfig knows
# none): the console tests screenshot the Simplified Chinese pages, which show boxes without one.
# The console itself names only system fonts, so nothing ships with it. Idempotent.
set -euo pipefail

readonly BROWSER="${POOLGATE_BROWSER_EXECUTABLE:-/usr/bin/chromium}"
readonly CJK_FONT_PACKAGE=fonts-wqy-microhei

can_apt() {
    [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1
}

apt_updated=false
apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    if [[ "$apt_updated" == false ]]; then
        apt-get update -qq
        apt_updated=true
    fi
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

has_cjk_font() {
    if command -v fc-list >/dev/null 2>&1; then
        [[ -n "$(fc-list :lang=zh-cn family 2>/dev/null)" ]]
    else
        dpkg-query -W -f='${Status}' "$CJK_FONT_PACKAGE" 2>/dev/null | grep -q "install ok installed"
    fi
}

if [[ ! -x "$BROWSER" ]]; then
    if [[ "$BROWSER" == /usr/bin/chromium ]] && can_apt; then
        echo "browser: installing Debian's chromium"
        apt_install chromium
        [[ -x "$BROWSER" ]] || { echo "ensure-browser: ERROR: chromium installed but $BROWSER is missing" >&2; exit 1; }
    else
        echo "ensure-browser: ERROR: $BROWSER not found; install Debian's chromium (apt-get install chromium)" \
            "or set POOLGATE_BROWSER_EXECUTABLE" >&2
        exit 1
    fi
fi
echo "browser: $BROWSER"

if has_cjk_font; then
    echo "browser: a Chinese font is installed"
elif can_apt; then
    echo "browser: installing $CJK_FONT_PACKAGE (Chinese pages in screenshots)"
    apt_install "$CJK_FONT_PACKAGE"
    has_cjk_font || { echo "ensure-browser: ERROR: $CJK_FONT_PACKAGE installed but no Chinese font is known" >&2; exit 1; }
else
    # Only screenshots suffer (Chinese shows as boxes); the tests themselves read text, not pixels.
    echo "ensure-browser: WARNING: no Chinese font; screenshots of the Chinese pages show boxes" \
        "(apt-get install $CJK_FONT_PACKAGE)" >&2
fi
