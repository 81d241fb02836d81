-- Users, their API keys (hashes only), accounts of every kind, and the outbox.

CREATE TABLE users (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username    text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9_.@-]{1,64}$'),
    is_admin    boolean NOT NULL DEFAULT false,
    disabled_at timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          text,
    prefix        text NOT NULL,
    key_hash      bytea NOT NULL UNIQUE,
    enabled       boolean NOT NULL DEFAULT true,
    request_count bigint NOT NULL DEFAULT 0,
    last_used_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_user_id_idx ON api_keys (user_id);

-- One table for every kind: the common columns are typed, the kind's own non-secret settings live
-- in `settings`, and its secrets in one Fernet token (`secrets`, an encrypted JSON object).
CREATE TABLE accounts (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind              text NOT NULL CHECK (kind IN ('kiro', 'custom_api', 'dreamina')),
    name              text NOT NULL,
    visibility        text NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'public')),
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'active', 'disabled', 'invalid', 'exhausted')),
    status_reason     text,
    status_changed_at timestamptz NOT NULL DEFAULT now(),
    weight            integer NOT NULL DEFAULT 100 CHECK (weight BETWEEN 0 AND 10000),
    max_concurrency   integer NOT NULL DEFAULT 32 CHECK (max_concurrency > 0),
    settings          jsonb NOT NULL DEFAULT '{}'::jsonb,
    secrets           text NOT NULL,
    success_count     bigint NOT NULL DEFAULT 0,
    fail_count        bigint NOT NULL DEFAULT 0,
    last_used_at      timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accounts_owner_id_idx ON accounts (owner_id);
CREATE INDEX accounts_status_idx ON accounts (status);

-- Written in the same transaction as the change it announces; relayed to RabbitMQ with confirms.
CREATE TABLE outbox (
    id          bigserial PRIMARY KEY,
    message_id  text NOT NULL UNIQUE,
    type        text NOT NULL,
    body        bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('poolgate_outbox', '');
    RETURN NULL;
END $$;

CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
