import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.crypto import InvalidToken, SecretBox, generate_key, mask

OLD, NEW = generate_key(), generate_key()


@given(st.text(max_size=200))
def test_round_trip(secret):
    box = SecretBox(OLD)
    assert box.decrypt(box.encrypt(secret)) == secret


def test_rotation_re_encrypts_with_the_newest_key_and_old_tokens_stay_readable():
    token = SecretBox(OLD).encrypt("sk-secret")
    rotated_box = SecretBox([NEW, OLD])
    assert rotated_box.decrypt(token) == "sk-secret"
    rotated = rotated_box.rotate(token)
    assert SecretBox(NEW).decrypt(rotated) == "sk-secret"
    with pytest.raises(InvalidToken):
        SecretBox(NEW).decrypt(token)


def test_mask_shows_four_characters():
    assert mask("sk-abcdef") == "sk-a****"
    assert mask(None) is None
