"""Egress proxies: the proxy an account's traffic leaves through (never directly).

`endpoints.py` (`/api/v1/proxies`) and the console page (console/pages/proxies.py) go through
`service.py`; `probe.py` tests a proxy against the echo URL (`POOLGATE_PROXY_ECHO_URL`);
`repository.py` holds the rows (the password a Fernet token, shared/crypto.py). Accounts carry the
proxy's URL in their allocation (allocation/kinds.py) and in the worker's credentials read.
"""
