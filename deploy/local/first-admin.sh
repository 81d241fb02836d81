#!/usr/bin/env bash
# Create the first admin user `admin` (if it does not exist) and an API key for it, keep the key in
# .poolgate/admin.key (mode 600, git-ignored) so later runs print the same key instead of minting a
# new one, make up the admin's initial console password (kept in .poolgate/admin.password), then
# print the key, the password and the URLs of the three services.
#
# Run after `poolgate migrate`. Uses .venv/bin/poolgate (override with POOLGATE_BIN).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

POOLGATE_BIN="${POOLGATE_BIN:-.venv/bin/poolgate}"
readonly ADMIN_USER=admin
readonly KEY_NAME=first-admin
readonly STATE_DIR="${POOLGATE_STATE_DIR:-.poolgate}"
readonly KEY_FILE="$STATE_DIR/admin.key"
readonly PASSWORD_FILE="$STATE_DIR/admin.password"

die() {
    echo "first-admin: ERROR: $*" >&2
    exit 1
}

[[ -x "$POOLGATE_BIN" ]] || die "$POOLGATE_BIN not found; run 'make install' first"

umask 077
mkdir -p "$STATE_DIR"
chmod 700 "$STATE_DIR"

err_file="$(mktemp)"
trap 'rm -f "$err_file"' EXIT

user_created=false
if "$POOLGATE_BIN" users create "$ADMIN_USER" --admin >/dev/null 2>"$err_file"; then
    user_created=true
    echo "admin user: created"
elif grep -qi "already exists" "$err_file"; then
    echo "admin user: exists"
else
    cat "$err_file" >&2
    die "'poolgate users create $ADMIN_USER --admin' failed"
fi

# A freshly created user cannot own the key stored by an earlier run (the database was reset), so
# a stored key is reused only when the user already existed.
if [[ "$user_created" == false && -s "$KEY_FILE" ]]; then
    key="$(head -n 1 "$KEY_FILE")"
    echo "admin API key: reused from $KEY_FILE"
else
    out="$("$POOLGATE_BIN" keys create --user "$ADMIN_USER" --name "$KEY_NAME" 2>"$err_file")" || {
        cat "$err_file" >&2
        die "'poolgate keys create --user $ADMIN_USER --name $KEY_NAME' failed"
    }
    # The CLI prints only the key; take the last non-empty line and trim it to be safe.
    key="$(printf '%s\n' "$out" | sed '/^[[:space:]]*$/d' | tail -n 1 | tr -d '[:space:]')"
    [[ -n "$key" ]] || die "'poolgate keys create' printed no key"
    tmp="$(mktemp "$STATE_DIR/admin.key.XXXXXX")"
    printf '%s\n' "$key" >"$tmp"
    chmod 600 "$tmp"
    mv -f "$tmp" "$KEY_FILE"
    echo "admin API key: created and saved to $KEY_FILE"
fi
chmod 600 "$KEY_FILE"

# The console's initial password: made up once, when the user is created (or when no earlier run
# kept one), and kept beside the key. Change it in the console; `poolgate users set-password admin`
# sets a new one from the shell.
# A password set earlier (in the console, or by set-password) is never replaced (--if-unset).
if [[ "$user_created" == true || ! -s "$PASSWORD_FILE" ]]; then
    rm -f "$PASSWORD_FILE"
    password="$("$POOLGATE_BIN" users set-password "$ADMIN_USER" --generate --if-unset 2>"$err_file")" || {
        cat "$err_file" >&2
        die "'poolgate users set-password $ADMIN_USER --generate' failed"
    }
    password="$(printf '%s\n' "$password" | sed '/^[[:space:]]*$/d' | tail -n 1 | tr -d '[:space:]')"
    if [[ -n "$password" ]]; then
        tmp="$(mktemp "$STATE_DIR/admin.password.XXXXXX")"
        printf '%s\n' "$password" >"$tmp"
        chmod 600 "$tmp"
        mv -f "$tmp" "$PASSWORD_FILE"
        echo "admin console password: created and saved to $PASSWORD_FILE"
    fi
fi
if [[ -s "$PASSWORD_FILE" ]]; then
    password_line="$(head -n 1 "$PASSWORD_FILE")  (initial; change it in the console)"
else
    password_line="(set earlier; 'poolgate users set-password admin' sets a new one)"
fi

# URLs for a browser/client: a wildcard bind address is reached through loopback.
host="${POOLGATE_HOST:-127.0.0.1}"
case "$host" in
    0.0.0.0 | "") host=127.0.0.1 ;;
    :: | "[::]") host="[::1]" ;;
    *:*) [[ "$host" == \[* ]] || host="[$host]" ;;
esac

cat <<EOF

PoolGate is starting:
  proxy (OpenAI / Anthropic APIs)   http://$host:${POOLGATE_PROXY_PORT:-8000}
  console (sign in as admin), API    http://$host:${POOLGATE_ACCOUNT_SERVICE_PORT:-8001}
  refresh_worker (health)           http://$host:${POOLGATE_REFRESH_WORKER_PORT:-8002}/healthz

  admin API key: $key
  admin console password: $password_line

EOF
