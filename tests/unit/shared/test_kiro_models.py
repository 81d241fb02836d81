import pytest

from shared.kiro_models import PUBLIC_MODELS, kiro_model_id, kiro_serves


@pytest.mark.parametrize(
    ("name", "kiro_id"),
    [
        ("claude-sonnet-4-5", "CLAUDE_SONNET_4_5_20250929_V1_0"),
        ("claude-sonnet-4-5-20250929", "CLAUDE_SONNET_4_5_20250929_V1_0"),
        ("Claude-Haiku-4-5", "claude-haiku-4.5"),
        ("claude-opus-4.6", "claude-opus-4.6"),  # a Kiro id is accepted as-is
        ("auto", "CLAUDE_SONNET_4_5_20250929_V1_0"),
    ],
)
def test_public_names_map_to_kiro_ids(name, kiro_id):
    assert kiro_model_id(name) == kiro_id


@pytest.mark.parametrize("name", ["gpt-4o", "", None, "claude-2"])
def test_other_models_are_not_kiros(name):
    assert not kiro_serves(name)


def test_every_public_model_is_served():
    assert all(kiro_serves(m) for m in PUBLIC_MODELS)
