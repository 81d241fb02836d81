-- Error rules: what an upstream failure means for its account, decided by the operator. A rule matches
-- the attempt's status code and/or its redacted error excerpt (a substring, or an RE2 expression),
-- within a scope: every account (an admin's global rule, user_id NULL) or one user's accounts,
-- optionally narrowed to a kind or to one account. The first enabled matching rule by `position`
-- (then age) decides; its action replaces the outcome's default consequence.
CREATE TABLE error_rules (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     uuid REFERENCES users (id) ON DELETE CASCADE,
    position    integer NOT NULL DEFAULT 100,
    name        text NOT NULL DEFAULT '',
    kind        text CHECK (kind IN ('kiro', 'custom_api', 'dreamina')),
    account_id  uuid REFERENCES accounts (id) ON DELETE CASCADE,
    status_code integer CHECK (status_code BETWEEN 100 AND 599),
    match_type  text CHECK (match_type IN ('substring', 'regex')),
    pattern     text,
    action      text NOT NULL CHECK (action IN ('cooldown', 'exhausted', 'disable', 'ignore')),
    seconds     integer CHECK (seconds > 0),
    until_next_day boolean NOT NULL DEFAULT false,
    reason      text NOT NULL DEFAULT '',
    enabled     boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (status_code IS NOT NULL OR pattern IS NOT NULL),
    CHECK ((pattern IS NULL) = (match_type IS NULL))
);
CREATE INDEX error_rules_user_idx ON error_rules (user_id);

-- One row whose number moves on every change of any rule: each consumer replica compares it with the
-- version its cached rules were loaded at (one indexed read per batch) and reloads only on a change.
CREATE TABLE error_rules_version (
    id      boolean PRIMARY KEY DEFAULT true CHECK (id),
    version bigint NOT NULL DEFAULT 0
);
INSERT INTO error_rules_version DEFAULT VALUES;

-- The last upstream error a rule named for the account (its reason), shown beside the account even
-- when the rule only cooled it or ignored the failure.
ALTER TABLE accounts ADD COLUMN last_error text;
ALTER TABLE accounts ADD COLUMN last_error_at timestamptz;
