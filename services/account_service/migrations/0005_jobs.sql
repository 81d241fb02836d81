-- Long actions over many accounts (refresh all due, force refresh all, refresh the unavailable ones):
-- the request stores the job and one item per account and is answered at once; any replica then works
-- through the items in chunks (the job row locked with SKIP LOCKED), each chunk in one transaction with
-- its events. Finished jobs are pruned after a week.
CREATE TABLE jobs (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    action         text NOT NULL CHECK (action IN ('refresh_due', 'refresh_all', 'refresh_unavailable')),
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    params         jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- The request's correlation id, carried by every event the job writes.
    correlation_id text,
    status         text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'finished')),
    total          integer NOT NULL DEFAULT 0,
    queued         integer NOT NULL DEFAULT 0,
    skipped        integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz
);
CREATE INDEX jobs_running_idx ON jobs (created_at) WHERE status = 'running';
CREATE INDEX jobs_user_id_idx ON jobs (user_id, created_at DESC);
CREATE INDEX jobs_finished_at_idx ON jobs (finished_at) WHERE finished_at IS NOT NULL;

-- One per account the job acts on, in the order they are worked through. No reference to accounts:
-- an account deleted meanwhile keeps its line, which says so.
CREATE TABLE job_items (
    job_id       uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    position     integer NOT NULL,
    account_id   uuid NOT NULL,
    account_name text NOT NULL,
    state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'queued', 'skipped')),
    reason       text,
    done_at      timestamptz,
    PRIMARY KEY (job_id, position)
);
CREATE INDEX job_items_pending_idx ON job_items (job_id, position) WHERE state = 'pending';
