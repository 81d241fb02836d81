-- Probes: a scheduled health check per account, off by default. `probe_due_at` is when the sweeper
-- announces the next one (NULL: at its next pass); it moves on by the interval each time one is announced.
ALTER TABLE accounts ADD COLUMN probe_enabled boolean NOT NULL DEFAULT false;
ALTER TABLE accounts ADD COLUMN probe_interval_s integer NOT NULL DEFAULT 300
    CHECK (probe_interval_s BETWEEN 60 AND 86400);
ALTER TABLE accounts ADD COLUMN probe_due_at timestamptz;
CREATE INDEX accounts_probe_due_idx ON accounts (probe_due_at NULLS FIRST) WHERE probe_enabled;

-- What each probe found: the latest few per account are kept (older ones are deleted as new ones come).
CREATE TABLE account_probes (
    id          bigserial PRIMARY KEY,
    account_id  uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL,
    ok          boolean NOT NULL,
    latency_ms  integer,
    status      integer,
    method      text NOT NULL,
    detail      text,
    reenabled   boolean NOT NULL DEFAULT false
);
CREATE INDEX account_probes_account_idx ON account_probes (account_id, at DESC, id DESC);
