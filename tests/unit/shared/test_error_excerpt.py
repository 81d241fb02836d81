"""The error excerpt that travels in `usage.recorded`: at most 512 characters, secrets redacted
before the cut (so none is half shown), whitespace collapsed."""

from __future__ import annotations

import pytest

from shared.error_excerpt import MAX_LENGTH, error_excerpt


@pytest.mark.parametrize(
    ("body", "secret"),
    [
        (
            b'{"error":{"message":"Incorrect API key provided: sk-proj-abcdefgh12345678"}}',
            "sk-proj-abcdefgh12345678",
        ),
        (b"Authorization: Bearer abc.def-ghi_123 was refused", "abc.def-ghi_123"),
        (b'{"access_token": "tok_1234", "error": "expired"}', "tok_1234"),
        (b"refresh_token=aorAAAAAGsecret&x=1", "aorAAAAAGsecret"),
        (b"account owner jane.doe+pool@example.co.uk is suspended", "jane.doe+pool@example.co.uk"),
        (b"jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "eyJzdWIiOiIxIn0"),
        (b"key AKIAIOSFODNN7EXAMPLE unknown", "AKIAIOSFODNN7EXAMPLE"),
        (b"session " + b"Zx9" * 20 + b" expired", "Zx9" * 20),
    ],
)
def test_secrets_tokens_and_emails_are_redacted(body: bytes, secret: str) -> None:
    excerpt = error_excerpt(body)
    assert excerpt is not None and secret not in excerpt and "[redacted]" in excerpt


def test_the_message_around_them_stays_readable() -> None:
    excerpt = error_excerpt(
        b'{"error": {"type": "permission_error",\n  "message": "organization suspended"}}'
    )
    assert excerpt == '{"error": {"type": "permission_error", "message": "organization suspended"}}'


def test_an_excerpt_is_cut_after_redaction() -> None:
    body = b"x " * 300 + b"token=" + b"s3cr3t" * 40
    excerpt = error_excerpt(body)
    assert excerpt is not None and len(excerpt) == MAX_LENGTH and "s3cr3t" not in excerpt


def test_no_body_is_no_excerpt() -> None:
    assert error_excerpt(b"") is None and error_excerpt(None) is None and error_excerpt(b"  \n") is None
    assert error_excerpt(b"\xff\xfe broken utf-8") == "\ufffd\ufffd broken utf-8"
