"""Fake Kiro upstream: Social and IdC refresh hosts and the CodeWhisperer / Amazon Q chat host, one port.

Run: python -m tests.fakes.kiro_upstream --port 0   (prints "LISTENING <port>")

The HTTP contract is /tmp/pg/kiro_fake_spec.md, kept in this docstring's summary:
  POST /auth/{region}/refreshToken              Social refresh (prod.{region}.auth.desktop.kiro.dev)
  POST /oidc/{region}/token                     IdC refresh (oidc.{region}.amazonaws.com)
  POST /q/{api_region}/generateAssistantResponse chat, an AWS event-stream answer
  GET  /q/{api_region}/getUsageLimits            what the token's lineage has left (_kiro_usage.py)
  /_fake/kiro/...                               lineages (+ their profileArn), access tokens, scripts, config
Generic config from /_fake/config used here: text, stream_chunks, chunk_delay_ms, delay_ms (chat only),
log_requests. /_fake/reset also clears the Kiro state when the app made its own FakeState (the usual
case); /_fake/kiro/reset clears only the Kiro state.
"""

from __future__ import annotations

from aiohttp import web

from tests.fakes import _kiro_auth, _kiro_chat, _kiro_control, _kiro_usage
from tests.fakes._control import FakeState, main, new_app
from tests.fakes._kiro_state import KIRO, KiroState


class _KiroFakeState(FakeState):
    """Generic fake state whose reset (POST /_fake/reset) also resets the Kiro state."""

    def __init__(self, kiro: KiroState) -> None:
        super().__init__()
        self.kiro = kiro

    def reset(self) -> None:
        super().reset()
        self.kiro.reset()


def create_app(state: FakeState | None = None, kiro: KiroState | None = None) -> web.Application:
    kiro = kiro or KiroState()
    app = new_app(state or _KiroFakeState(kiro))
    app[KIRO] = kiro
    _kiro_auth.add_routes(app)
    _kiro_chat.add_routes(app)
    _kiro_control.add_routes(app)
    _kiro_usage.add_routes(app)
    return app


if __name__ == "__main__":
    main(create_app)
