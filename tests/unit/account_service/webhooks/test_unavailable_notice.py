"""`pool.unavailable` is announced once per user and model per window, from memory."""

from services.account_service.allocation.unavailable import UnavailableNotice
from shared.messages.contracts import PoolUnavailable


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_one_announcement_per_user_and_model_per_window():
    sent: list[PoolUnavailable] = []

    async def announce(event: PoolUnavailable) -> None:
        sent.append(event)

    clock = Clock()
    notice = UnavailableNotice(announce, window_s=300, clock=clock)
    for _ in range(50):
        notice.refused(user_id="u1", model="m", capability="chat", reason="none")
    notice.refused(user_id="u1", model="other", capability="chat", reason="none")
    notice.refused(user_id="u2", model="m", capability="chat", reason="none")
    await notice.close()
    assert [(e.user_id, e.model) for e in sent] == [("u1", "m"), ("u1", "other"), ("u2", "m")]

    clock.now += 299
    notice.refused(user_id="u1", model="m", capability="chat", reason="none")
    await notice.close()
    assert len(sent) == 3
    clock.now += 2
    notice.refused(user_id="u1", model="m", capability="chat", reason="still none")
    await notice.close()
    assert len(sent) == 4 and sent[-1].reason == "still none"


async def test_a_failed_announcement_is_tried_again_on_the_next_refusal():
    calls = 0

    async def announce(event: PoolUnavailable) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("postgres away")

    notice = UnavailableNotice(announce, window_s=300, clock=Clock())
    notice.refused(user_id="u1", model="m", capability="chat", reason="none")
    await notice.close()
    notice.refused(user_id="u1", model="m", capability="chat", reason="none")
    await notice.close()
    assert calls == 2
