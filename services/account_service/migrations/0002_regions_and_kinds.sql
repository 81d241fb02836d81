-- Regions, credential expiry and timed statuses for every kind of account.

-- Kiro: the AWS region of the token (it picks the auth host). Dreamina: the site, which decides the
-- sessionid prefix. Custom API accounts have no region.
ALTER TABLE accounts ADD COLUMN region text;
UPDATE accounts SET region = 'us-east-1' WHERE kind = 'kiro';
UPDATE accounts SET region = COALESCE(NULLIF(lower(btrim(settings->>'region')), ''), 'cn'),
                    settings = settings - 'region'
 WHERE kind = 'dreamina';
-- A NULL region must fail the check too, so each branch is a plain boolean (CHECK passes on NULL).
ALTER TABLE accounts ADD CONSTRAINT accounts_region_check CHECK (
    CASE kind
        WHEN 'kiro' THEN COALESCE(region IN ('us-east-1', 'ap-southeast-1', 'eu-west-1'), false)
        WHEN 'dreamina' THEN COALESCE(region IN ('us', 'hk', 'jp', 'sg', 'cn'), false)
        ELSE region IS NULL
    END
);

-- Kiro: when the access token expires. Dreamina: when the sessionid expires (shown, not enforced, for cn).
ALTER TABLE accounts ADD COLUMN credential_expires_at timestamptz;
-- `exhausted` lasts until a reset time.
ALTER TABLE accounts ADD COLUMN status_until timestamptz;

-- The sweeper looks for credentials that expire soon.
CREATE INDEX accounts_credential_expires_at_idx ON accounts (credential_expires_at)
    WHERE credential_expires_at IS NOT NULL;
CREATE INDEX accounts_kind_region_idx ON accounts (kind, region);

-- A Dreamina e-mail is unique per owner, whatever its case.
CREATE UNIQUE INDEX accounts_dreamina_email_key ON accounts (owner_id, lower(settings->>'email'))
    WHERE kind = 'dreamina';
