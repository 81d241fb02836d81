-- A custom API account's provider is stored in lower case, as the proxy (Azure's URL and `api-key`
-- header) and the probe compare it; accounts saved before then, as typed, get it now. A name that was
-- the default (`{provider}@{host}`) follows its provider.
UPDATE accounts
SET settings = jsonb_set(settings, '{provider}', to_jsonb(lower(settings->>'provider'))),
    name = CASE
        WHEN starts_with(name, (settings->>'provider') || '@')
            THEN lower(settings->>'provider') || substr(name, length(settings->>'provider') + 1)
        ELSE name
    END
WHERE kind = 'custom_api' AND settings->>'provider' <> lower(settings->>'provider');
