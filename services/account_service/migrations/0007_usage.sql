-- Usage, rolled up per hour by API key, account and model: one row per (hour, key, account, model)
-- with at least one call, added to by the usage consumer in one statement per batch (never a row per
-- request). Rows older than POOLGATE_USAGE_RETENTION_DAYS are deleted by the sweeper.
--
-- `outcomes` counts the calls per outcome, in the order of usage/rollup.py OUTCOMES (new outcomes
-- are appended). `latency_hist` and `ttfb_hist` are log-scale histograms (usage/histogram.py: four
-- buckets per doubling of milliseconds, trailing empty buckets left off), so percentiles of any
-- range of hours, keys or accounts come from their summed buckets. Keys and accounts are not foreign
-- keys: the pool's history outlives a deleted key or account. Half-empty pages leave room for the
-- hour's rows to be updated in place (HOT: no index touched, as no indexed column changes).
CREATE TABLE usage_hourly (
    hour          timestamptz      NOT NULL,
    api_key_id    uuid             NOT NULL,
    account_id    uuid             NOT NULL,
    model         text             NOT NULL,
    user_id       uuid             NOT NULL,
    requests      integer          NOT NULL,
    successes     integer          NOT NULL,
    outcomes      integer[]        NOT NULL,
    input_tokens  bigint           NOT NULL,
    output_tokens bigint           NOT NULL,
    images        integer          NOT NULL,
    video_seconds double precision NOT NULL,
    latency_hist  integer[]        NOT NULL,
    ttfb_hist     integer[]        NOT NULL,
    PRIMARY KEY (hour, api_key_id, account_id, model)
) WITH (fillfactor = 50);
CREATE INDEX usage_hourly_account_idx ON usage_hourly (account_id, hour);
CREATE INDEX usage_hourly_user_idx ON usage_hourly (user_id, hour);

-- Element-wise sum of two count arrays of any lengths (the shorter one is read as padded with zeros),
-- for the consumer's upsert (this form measured fastest of unnest/array_agg, plpgsql and this). Reading sums many rows' arrays with unnest ... GROUP BY instead (a
-- function call per row is several times slower).
CREATE FUNCTION usage_add(a integer[], b integer[]) RETURNS integer[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY(
        SELECT coalesce(a[i], 0) + coalesce(b[i], 0)
        FROM generate_series(1, greatest(cardinality(a), cardinality(b))) AS i
    )
$$;
