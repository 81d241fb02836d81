from services.proxy_service.formats import providers
from shared.providers import KNOWN_PROVIDERS


def test_the_providers_offered_by_name_are_the_ones_the_proxy_has_quirks_for():
    assert set(providers._PROVIDERS) == set(KNOWN_PROVIDERS)


def test_a_known_provider_is_found_whatever_its_case_and_an_unknown_one_is_generic():
    assert providers.provider_for(" OpenRouter ").openrouter_reasoning
    assert providers.provider_for("my-own-gateway") is providers.GENERIC
