-- What the last credential check of an account found, for every kind: a Kiro refresh, a Dreamina
-- sessionid revalidation or browser login. Shown beside the account with its reason and time.
ALTER TABLE accounts ADD COLUMN last_check_at timestamptz;
ALTER TABLE accounts ADD COLUMN last_check_ok boolean;
ALTER TABLE accounts ADD COLUMN last_check_kind text
    CHECK (last_check_kind IN ('refresh', 'revalidation', 'login'));
ALTER TABLE accounts ADD COLUMN last_check_reason text;

-- Dreamina: the credits the upstream reported (`/token/points`) and when they were read.
ALTER TABLE accounts ADD COLUMN credits integer;
ALTER TABLE accounts ADD COLUMN credits_read_at timestamptz;

-- Today's calls per account, reset at the configured day boundary: `calls_day` is the day they count.
ALTER TABLE accounts ADD COLUMN calls_day date;
ALTER TABLE accounts ADD COLUMN calls_today integer NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN calls_today_ok integer NOT NULL DEFAULT 0;
