#!/usr/bin/env bash
# Make sure the local backing services PoolGate needs are running:
#   PostgreSQL 127.0.0.1:5432, Redis 127.0.0.1:6379, RabbitMQ 127.0.0.1:5672
# and that the `poolgate` database exists.
#
# Prints one line per service ("NAME: up" when it already answered, "NAME: started" when this script
# started it) and exits non-zero with a clear message when one cannot be started.
# Idempotent: safe to run any number of times.
#
# Environment (all optional):
#   POOLGATE_LOCAL_DB     database to create if missing (default: poolgate)
#   PG_WAIT_SECONDS       how long to wait for PostgreSQL after starting it (default: 60)
#   REDIS_WAIT_SECONDS    how long to wait for Redis after starting it (default: 30)
#   RABBIT_WAIT_SECONDS   how long to wait for RabbitMQ after starting it (default: 120)
set -euo pipefail

readonly HOST=127.0.0.1
readonly PG_PORT=5432
readonly REDIS_PORT=6379
readonly AMQP_PORT=5672
readonly DB_NAME="${POOLGATE_LOCAL_DB:-poolgate}"

START_LOG="$(mktemp)"
readonly START_LOG
trap 'rm -f "$START_LOG"' EXIT

die() {
    echo "ensure-backing-services: ERROR: $*" >&2
    exit 1
}

# True when something accepts TCP connections on $1:$2 (bounded to 2 s).
tcp_open() {
    # shellcheck disable=SC2016  # $1/$2 expand in the inner shell, on purpose
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null
}

postgres_ready() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -h "$HOST" -p "$PG_PORT" -t 2
    else
        tcp_open "$HOST" "$PG_PORT"
    fi
}

redis_ready() {
    if command -v redis-cli >/dev/null 2>&1; then
        [[ "$(timeout 3 redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == "PONG" ]]
    else
        tcp_open "$HOST" "$REDIS_PORT"
    fi
}

# RabbitMQ opens its AMQP listener only at the end of its boot, so an open port means it is ready.
rabbitmq_ready() {
    tcp_open "$HOST" "$AMQP_PORT"
}

start_postgres() {
    command -v pg_ctlcluster >/dev/null 2>&1 || { echo "pg_ctlcluster not found"; return 1; }
    [[ -d /etc/postgresql ]] || { echo "/etc/postgresql does not exist"; return 1; }
    local version
    version="$(find /etc/postgresql -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort -V | tail -n 1)"
    [[ -n "$version" ]] || { echo "no cluster under /etc/postgresql"; return 1; }
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
}

start_redis() {
    command -v redis-server >/dev/null 2>&1 || { echo "redis-server not found"; return 1; }
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log
}

start_rabbitmq() {
    command -v rabbitmq-server >/dev/null 2>&1 || { echo "rabbitmq-server not found"; return 1; }
    rabbitmq-server -detached
}

# wait_until SECONDS CHECK_FUNCTION: poll once a second until the check passes or time runs out.
wait_until() {
    local deadline=$((SECONDS + $1)) check=$2
    until "$check"; do
        ((SECONDS < deadline)) || return 1
        sleep 1
    done
}

# ensure NAME CHECK_FUNCTION START_FUNCTION WAIT_SECONDS
ensure() {
    local name=$1 check=$2 start=$3 wait_seconds=$4 status=0
    if "$check"; then
        echo "$name: up"
        return 0
    fi
    # The start command's output goes to a file, not a pipe: a daemon that keeps the inherited
    # descriptor open would otherwise block a command substitution forever. The command may fail
    # because the server is already starting ("already running"): what counts is whether it
    # answers afterwards.
    "$start" >"$START_LOG" 2>&1 </dev/null || status=$?
    if wait_until "$wait_seconds" "$check"; then
        echo "$name: started"
        return 0
    fi
    sed "s/^/  $name start: /" "$START_LOG" >&2 || true
    die "$name is not accepting connections on $HOST and could not be started" \
        "(start command exit status $status, waited ${wait_seconds}s)"
}

ensure_database() {
    local exists
    exists="$(psql -h "$HOST" -p "$PG_PORT" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" \
        || die "cannot query PostgreSQL as user postgres on $HOST:$PG_PORT"
    if [[ "$exists" == "1" ]]; then
        echo "database $DB_NAME: exists"
        return 0
    fi
    if createdb -h "$HOST" -p "$PG_PORT" -U postgres "$DB_NAME"; then
        echo "database $DB_NAME: created"
        return 0
    fi
    # Lost a race with a concurrent run? Then the database exists now.
    exists="$(psql -h "$HOST" -p "$PG_PORT" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" || true
    [[ "$exists" == "1" ]] || die "could not create database $DB_NAME"
    echo "database $DB_NAME: exists"
}

ensure postgresql postgres_ready start_postgres "${PG_WAIT_SECONDS:-60}"
ensure redis redis_ready start_redis "${REDIS_WAIT_SECONDS:-30}"
ensure rabbitmq rabbitmq_ready start_rabbitmq "${RABBIT_WAIT_SECONDS:-120}"
ensure_database
