-- The web console: users sign in with a password (an argon2 hash; NULL until one is set, and such a
-- user cannot sign in), repeated failures lock the user out for a while, and a signed-in browser holds
-- a session whose token is stored only as a hash. Each session carries its own CSRF token.
ALTER TABLE users
    ADD COLUMN password_hash       text,
    ADD COLUMN password_changed_at timestamptz,
    ADD COLUMN failed_sign_ins     integer NOT NULL DEFAULT 0,
    ADD COLUMN locked_until        timestamptz;

CREATE TABLE console_sessions (
    token_hash   bytea PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX console_sessions_user_idx ON console_sessions (user_id);
CREATE INDEX console_sessions_expiry_idx ON console_sessions (expires_at);
