"""`poolgate`: run, migrate and administer PoolGate from a shell."""

from __future__ import annotations

import argparse
import asyncio
import sys

from shared.errors import PoolGateError
from shared.logging import configure_logging


def _group(sub, name: str, help: str):
    return sub.add_parser(name, help=help).add_subparsers(dest="action", required=True)


def _limit_options(parser: argparse.ArgumentParser) -> None:
    """A key's limits (README "Limits per key"): a number, or `default` for the operator's default."""
    parser.add_argument("--rpm", dest="requests_per_minute", metavar="N", help="requests per minute")
    parser.add_argument("--concurrency", metavar="N", help="calls at once")
    parser.add_argument("--tokens-per-day", dest="tokens_per_day", metavar="N", help="tokens per day")
    parser.add_argument(
        "--models",
        dest="allowed_models",
        metavar="LIST",
        help="comma-separated models or patterns (`claude-*`); empty: any",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="poolgate", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("up", help="migrate, then run and supervise all three services (Ctrl-C stops them)")
    sub.add_parser("migrate", help="apply pending database migrations")

    users = _group(sub, "users", "manage users")
    create_user = users.add_parser("create", help="create a user; prints its id")
    create_user.add_argument("name")
    create_user.add_argument("--admin", action="store_true")
    set_password = users.add_parser(
        "set-password",
        help="set a user's console password (asked twice on a terminal, else one line from stdin);"
        " ends the user's console sessions",
    )
    set_password.add_argument("name")
    set_password.add_argument(
        "--generate", action="store_true", help="make up a random password and print it (for a first admin)"
    )
    set_password.add_argument(
        "--if-unset", action="store_true", help="do nothing (print nothing) when the user has a password"
    )

    keys = _group(sub, "keys", "manage API keys")
    create_key = keys.add_parser("create", help="create an API key; prints only the key")
    create_key.add_argument("--user", required=True)
    create_key.add_argument("--name")
    _limit_options(create_key)
    limits = keys.add_parser(
        "limits", help="show or change a key's limits (only the options given change); prints them as JSON"
    )
    limits.add_argument("key_id", help="the key's id (as `GET /api/v1/keys` lists it)")
    _limit_options(limits)

    accounts = _group(sub, "accounts", "manage upstream accounts")
    custom = accounts.add_parser("add-custom", help="add an OpenAI- or Claude-format endpoint; prints its id")
    custom.add_argument("--user", required=True)
    custom.add_argument("--api-base", required=True)
    custom.add_argument("--api-key", required=True)
    custom.add_argument("--format", required=True, choices=["openai", "claude"])
    custom.add_argument("--provider")
    custom.add_argument("--models", default="", help="comma-separated; empty = any model")
    custom.add_argument("--visibility", choices=["private", "public"], default="private")
    custom.add_argument("--name")
    custom.add_argument("--weight", type=int, default=100)

    secrets = _group(sub, "secrets", "manage encrypted secrets")
    rotate = secrets.add_parser(
        "rotate", help="re-encrypt every account's secrets with the newest key of POOLGATE_SECRET_KEYS"
    )
    rotate.add_argument("--batch-size", type=int, default=500, help="accounts per transaction")

    egress = _group(sub, "proxies", 'egress proxies (README "Egress proxies")')
    list_proxies = egress.add_parser("list", help="every proxy with its health, latency and exit: a table")
    list_proxies.add_argument("--user", help="only this user's proxies")
    test_proxy = egress.add_parser(
        "test", help="fetch POOLGATE_PROXY_ECHO_URL through the proxy; prints the result as JSON"
    )
    test_proxy.add_argument("proxy_id", help="the proxy's id (as `poolgate proxies list` shows it)")

    usage = sub.add_parser("usage", help="calls, tokens and latency per key, account, model or user: a table")
    usage.add_argument("--by", choices=["key", "account", "model", "user"], default="key")
    usage.add_argument("--since", default="7d", help="hours or days ago (24h, 7d) or an ISO 8601 time")
    usage.add_argument("--user", help="only this user's calls")
    usage.add_argument("--limit", type=int, default=50, help="rows shown, most requests first")

    events = _group(sub, "events", "watch the event stream and its dead-letter queues")
    tail = events.add_parser("tail", help="print events live, one JSON object a line")
    tail.add_argument("--type", default="#", help="routing-key pattern, e.g. 'account.*' or 'usage.recorded'")
    dead = events.add_parser(
        "dead", help="list dead-lettered messages (metadata only, never payloads); --replay sends them back"
    )
    dead.add_argument("--queue", help="one consumer queue, e.g. 'refresh_worker.accounts' (default: all)")
    dead.add_argument(
        "--replay", action="store_true", help="send them back to the queue they died in, and remove them"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # stdout carries only each command's answer (a key, an id, events); logs go to stderr.
    configure_logging(service="cli", level="WARNING", json=False)
    try:
        if args.command == "up":
            from services.cli._up import up

            return up()
        if args.command == "usage":
            from services.cli._usage import run

            return asyncio.run(run(args))
        if args.command == "proxies":
            from services.cli._proxies import run as run_proxies

            return asyncio.run(run_proxies(args))
        if args.command == "events" and args.action == "dead":
            from services.cli._dead_letters import dead

            return asyncio.run(dead(args.queue, replay=args.replay))
        if args.command == "events":
            from services.cli._events import tail

            return asyncio.run(tail(args.type))
        from services.cli import _admin

        return asyncio.run(_admin.run(args))
    except PoolGateError as exc:
        print(f"poolgate: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
