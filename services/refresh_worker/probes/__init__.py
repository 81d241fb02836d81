"""Probes: one cheap health check of an account, asked for by `account.probe_requested` (the
sweeper's schedule, or a person), reported to account_service through the internal API. A probe only
reports; account_service decides what a healthy one brings back (services/account_service/probes)."""
