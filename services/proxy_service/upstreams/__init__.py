"""Upstream kinds: one `Upstream` implementation per kind of account, in its own package.

Each turns an allocation and the client's call into an `UpstreamCall` (URL, headers, body, and the
bridge that reads the answer). `app.py` builds each once with its settings; the relay looks them
up by the allocation's account kind and knows none by name.
"""

from services.proxy_service.upstreams.base import Target, UnsupportedUpstream, Upstream, UpstreamCall

__all__ = ["Target", "UnsupportedUpstream", "Upstream", "UpstreamCall"]
