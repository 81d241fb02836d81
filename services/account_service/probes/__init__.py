"""Probes: a scheduled, opt-in health check per account that costs as little as the upstream allows.

account_service decides when one is due (the sweeper) and announces `account.probe_requested`; the
refresh worker runs it and reports through the internal API; the result is kept here (the latest
few per account). A healthy probe brings back an account that was cooling or exhausted; a failed one
only reports."""
