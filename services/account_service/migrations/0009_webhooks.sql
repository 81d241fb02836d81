-- Alerts by webhook: per user (their own accounts and keys) or operator-wide (an admin's, receiving
-- every user's alerts). The signing secret is a Fernet token (shared/crypto.py), never plaintext.
CREATE TABLE webhooks (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    operator_wide boolean NOT NULL DEFAULT false,
    url           text NOT NULL,
    secret        text NOT NULL,
    alert_types   text[] NOT NULL,
    enabled       boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_user_idx ON webhooks (user_id);
CREATE INDEX webhooks_operator_wide_idx ON webhooks (id) WHERE operator_wide;

-- One row per webhook and alert: retried with exponential backoff until delivered or out of
-- attempts. `event_id` is the alert's message id (or a test's own id): an alert heard twice makes
-- one delivery per webhook. A claimed row's `next_attempt_at` is pushed past the attempt's timeout,
-- so a replica that died mid-attempt leaves it due again rather than stuck.
CREATE TABLE webhook_deliveries (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    webhook_id       uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id         text NOT NULL,
    alert_type       text NOT NULL,
    body             text NOT NULL,
    status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz,
    last_status_code integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (webhook_id, created_at DESC);
