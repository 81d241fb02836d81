-- Limits per API key (keys/limits.py). NULL: the operator's default (POOLGATE_KEY_DEFAULT_*), and
-- with none set, no limit. allowed_models NULL: every model.
ALTER TABLE api_keys
    ADD COLUMN requests_per_minute integer CHECK (requests_per_minute > 0),
    ADD COLUMN concurrency         integer CHECK (concurrency > 0),
    ADD COLUMN tokens_per_day      bigint  CHECK (tokens_per_day > 0),
    ADD COLUMN allowed_models      text[];
