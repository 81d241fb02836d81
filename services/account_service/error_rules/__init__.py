"""Error rules: operator-defined consequences of upstream failures (status code and/or a substring or
RE2 expression of the redacted error body, per kind or account), applied by the usage consumer in
place of an outcome's default consequence, and tried out on a sample error by `POST .../test`."""
