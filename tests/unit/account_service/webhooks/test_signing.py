import hashlib
import hmac
import re
import time
from pathlib import Path

from services.account_service.webhooks.signing import new_secret, signature, verify

BODY = b'{"id":"e1","type":"webhook.test"}'


def test_the_signature_is_hmac_sha256_over_the_timestamp_and_the_body():
    header = signature("whsec_k", BODY, 1700000000)
    expected = hmac.new(b"whsec_k", b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_verify_accepts_the_signature_and_refuses_any_change():
    header = signature("whsec_k", BODY, 1700000000)
    assert verify("whsec_k", BODY, header, now=1700000010)
    assert not verify("whsec_other", BODY, header, now=1700000010)
    assert not verify("whsec_k", BODY + b" ", header, now=1700000010)
    assert not verify("whsec_k", BODY, header.replace("t=1700000000", "t=1700000001"), now=1700000010)
    assert not verify("whsec_k", BODY, "garbage", now=1700000010)


def test_an_old_signature_is_refused():
    header = signature("whsec_k", BODY, 1700000000)
    assert not verify("whsec_k", BODY, header, now=1700000000 + 301)


def test_secrets_are_random_and_prefixed():
    a, b = new_secret(), new_secret()
    assert a != b and a.startswith("whsec_") and len(a) >= 48


def test_the_readme_snippet_verifies_a_signature():
    """README.md's "Alerts" section shows receivers how to check the signature: it must work."""
    readme = (Path(__file__).resolve().parents[4] / "README.md").read_text()
    alerts = readme.split("## Alerts", 1)[1]
    snippet = re.search(r"```python\n(.*?)```", alerts, re.S)[1]
    namespace: dict = {}
    exec(snippet, namespace)
    now = int(time.time())
    header = signature("whsec_k", BODY, now)
    assert namespace["verify"]("whsec_k", BODY, header)
    assert not namespace["verify"]("whsec_x", BODY, header)
