from services.account_service.webhooks.dispatcher import DispatchSettings


def test_retries_wait_exponentially_longer_up_to_the_cap():
    settings = DispatchSettings(backoff_base_s=30, backoff_max_s=600)
    assert [settings.retry_in(n) for n in range(1, 7)] == [30, 60, 120, 240, 480, 600]
