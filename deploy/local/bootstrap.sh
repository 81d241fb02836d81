#!/usr/bin/env bash
# Install uv when it is missing, then create/refresh .venv from uv.lock (`uv sync --frozen`, which
# includes the default `dev` group). Idempotent and fast when nothing changed.
#
# Environment (optional):
#   BOOTSTRAP_PYTHON  interpreter used to pip-install uv (default: python3)
#   UV_SYNC_ARGS      extra arguments for `uv sync` (e.g. "--no-dev")
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

BOOTSTRAP_PYTHON="${BOOTSTRAP_PYTHON:-python3}"

die() {
    echo "bootstrap: ERROR: $*" >&2
    exit 1
}

# Sets the array UV to a working uv command: `uv` on PATH, else the `uv` module of
# $BOOTSTRAP_PYTHON (what `pip install --user uv` gives, even when ~/.local/bin is not on PATH).
find_uv() {
    if command -v uv >/dev/null 2>&1 && uv --version >/dev/null 2>&1; then
        UV=(uv)
    elif "$BOOTSTRAP_PYTHON" -m uv --version >/dev/null 2>&1; then
        UV=("$BOOTSTRAP_PYTHON" -m uv)
    else
        return 1
    fi
}

if ! find_uv; then
    command -v "$BOOTSTRAP_PYTHON" >/dev/null 2>&1 || die "$BOOTSTRAP_PYTHON not found; install Python 3.11 first"
    echo "bootstrap: installing uv with pip"
    # --user fails inside a virtualenv and plain installs fail on an externally managed Python:
    # try the variants in order.
    "$BOOTSTRAP_PYTHON" -m pip install --quiet --user uv \
        || "$BOOTSTRAP_PYTHON" -m pip install --quiet uv \
        || "$BOOTSTRAP_PYTHON" -m pip install --quiet --user --break-system-packages uv \
        || die "could not install uv (tried: $BOOTSTRAP_PYTHON -m pip install [--user] uv)"
    find_uv || die "uv was installed but cannot be run (neither \`uv\` nor \`$BOOTSTRAP_PYTHON -m uv\` works)"
fi

read -r -a extra_args <<<"${UV_SYNC_ARGS:-}"
"${UV[@]}" sync --frozen "${extra_args[@]}"
