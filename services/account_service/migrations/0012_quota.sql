-- What each account has left where its upstream says so (allocation/quota.py): Kiro's usage limits,
-- Dreamina's credits, or a custom API's rate-limit headers. For rate-limit headers `quota_remaining`
-- is the fraction left of the tightest limit and `quota_limit` is 1. `quota_runs_out_at` is when the
-- account would run out at the pace between its last two readings (NULL: not spending, or unknown).
ALTER TABLE accounts
    ADD COLUMN quota_source      text CHECK (quota_source IN ('kiro_usage_limits', 'dreamina_points', 'ratelimit_headers')),
    ADD COLUMN quota_remaining   double precision,
    ADD COLUMN quota_limit       double precision CHECK (quota_limit > 0),
    ADD COLUMN quota_resets_at   timestamptz,
    ADD COLUMN quota_runs_out_at timestamptz,
    ADD COLUMN quota_updated_at  timestamptz;
