-- Egress proxies: each account's traffic leaves through its proxy, never directly. The password is a
-- Fernet token (shared/crypto.py), never plaintext. Health is what the last test or attempt found.
CREATE TABLE egress_proxies (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            text NOT NULL,
    scheme          text NOT NULL CHECK (scheme IN ('http', 'https', 'socks5')),
    host            text NOT NULL,
    port            integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
    username        text,
    password        text,
    region          text,
    healthy         boolean,
    last_error      text,
    last_checked_at timestamptz,
    latency_ms      double precision,
    exit_ip         text,
    exit_country    text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, name)
);

ALTER TABLE accounts ADD COLUMN egress_proxy_id uuid REFERENCES egress_proxies (id) ON DELETE RESTRICT;
CREATE INDEX accounts_egress_proxy_idx ON accounts (egress_proxy_id) WHERE egress_proxy_id IS NOT NULL;
