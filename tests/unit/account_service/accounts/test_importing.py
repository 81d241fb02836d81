"""Import parsing and export formatting: a verdict per line, and import → export → import is identity.

Blank lines (only whitespace) and comment lines (starting with `#` after leading whitespace) get no
verdict; every other line gets exactly one, in order, numbered by its 1-based line in the text.
"""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from services.account_service.accounts.importing import (
    Accepted,
    Rejected,
    format_dreamina,
    format_kiro,
    parse_dreamina,
    parse_kiro,
)
from tests.unit.account_service.accounts.strategies import dreamina_specs, kiro_specs

any_line = st.text(st.characters(blacklist_characters="\n", blacklist_categories=("Cs",)), max_size=60)
blank_line = st.text(" \t\r", max_size=4)
comment_line = st.builds(lambda pad, rest: f"{pad}#{rest}", blank_line, any_line)
dreamina_line = st.builds(lambda s: format_dreamina([s]).rstrip("\n"), dreamina_specs())
kiro_line = st.one_of(
    st.builds(lambda s: s.refresh_token, kiro_specs()),
    st.builds(
        json.dumps,
        st.dictionaries(
            st.sampled_from(["refreshToken", "region", "clientId", "authType", "junk"]),
            st.one_of(st.text(), st.none()),
        ),
    ),
)


def _content_line_numbers(lines: list[str]) -> list[int]:
    return [n for n, line in enumerate(lines, start=1) if line.strip() and not line.strip().startswith("#")]


def _key(spec) -> dict:
    return spec.model_dump(exclude={"name"})


@given(lines=st.lists(st.one_of(dreamina_line, any_line, blank_line, comment_line), max_size=30))
def test_every_dreamina_content_line_gets_exactly_one_verdict(lines):
    verdicts = parse_dreamina("\n".join(lines))
    assert [v.line for v in verdicts] == _content_line_numbers(lines)
    assert all(isinstance(v, Accepted | Rejected) for v in verdicts)


@given(lines=st.lists(st.one_of(kiro_line, any_line, blank_line, comment_line), max_size=30))
def test_every_kiro_content_line_gets_exactly_one_verdict(lines):
    text = "\n".join(lines)
    stripped = text.strip()
    verdicts = parse_kiro(text)
    if stripped.startswith(("[", "{")):
        try:
            document = json.loads(stripped)
        except ValueError:
            if stripped.startswith("["):
                assert len(verdicts) == 1  # a text starting with `[` is a JSON list: broken, one verdict
                return
        else:
            # The whole text is JSON: one verdict per list entry, or one for the object.
            assert len(verdicts) == (len(document) if isinstance(document, list) else 1)
            return
    assert [v.line for v in verdicts] == _content_line_numbers(lines)


@given(
    entries=st.lists(
        st.one_of(
            st.builds(lambda s: format_kiro([s])[0], kiro_specs()),
            st.integers(),
            st.text(),
            st.dictionaries(st.text(), st.text()),
        ),
        max_size=20,
    )
)
def test_every_kiro_json_entry_gets_exactly_one_verdict_numbered_by_position(entries):
    verdicts = parse_kiro(json.dumps(entries))
    assert [v.line for v in verdicts] == list(range(1, len(entries) + 1))


@given(specs=st.lists(dreamina_specs(), max_size=15, unique_by=lambda s: s.email.lower()))
def test_dreamina_import_export_import_is_identity(specs):
    first = parse_dreamina(format_dreamina(specs))
    assert all(isinstance(v, Accepted) for v in first)
    again = parse_dreamina(format_dreamina([v.spec for v in first]))
    assert [_key(v.spec) for v in again] == [_key(v.spec) for v in first] == [_key(s) for s in specs]


@given(specs=st.lists(kiro_specs(), max_size=15, unique_by=lambda s: s.refresh_token))
def test_kiro_import_export_import_is_identity(specs):
    first = parse_kiro(json.dumps(format_kiro(specs)))
    assert all(isinstance(v, Accepted) for v in first)
    again = parse_kiro(json.dumps(format_kiro([v.spec for v in first])))
    assert [_key(v.spec) for v in again] == [_key(v.spec) for v in first] == [_key(s) for s in specs]


def _reasons(verdicts) -> dict[int, str]:
    return {v.line: v.reason for v in verdicts if isinstance(v, Rejected)}


def test_dreamina_lines_examples():
    text = "\n".join(
        [
            "a@x.co:pw:us",  # 1 ok, no sessionid
            "b@x.co::cn:cnsid",  # 2 ok, cn with sessionid
            "c@x.co:pw::sid",  # 3 ok, empty region means cn
            "d@x.co:pw",  # 4 missing region
            "e@x.co:pw:cn",  # 5 cn without sessionid
            "f@x.co:pw:eu:sid",  # 6 unknown region
            "",  # 7 blank
            "# comment",  # 8 comment
            "A@X.CO:other:hk",  # 9 duplicate of line 1, whatever the case
            "g@x.co:p:w:us:sid",  # 10 colon in the password
            "h@x.co:  :us",  # 11 blank password, no sessionid
        ]
    )
    verdicts = parse_dreamina(text)
    assert [v.line for v in verdicts] == [1, 2, 3, 4, 5, 6, 9, 10, 11]
    accepted = {v.line: v.spec for v in verdicts if isinstance(v, Accepted)}
    assert accepted[3].region == "cn" and accepted[3].sessionid == "sid"
    assert accepted[1].sessionid is None and accepted[1].can_login
    reasons = _reasons(verdicts)
    assert reasons[4].startswith("missing region")
    assert "cn" in reasons[5] and "sessionid" in reasons[5]
    assert "us, hk, jp, sg, cn" in reasons[6]
    assert reasons[9].startswith("duplicate email")
    assert "':'" in reasons[10]
    assert "password or a sessionid" in reasons[11]


def test_dreamina_region_is_case_insensitive_and_crlf_is_fine():
    [verdict] = parse_dreamina("a@x.co:pw:US:sid\r\n")
    assert isinstance(verdict, Accepted) and verdict.spec.region == "us"
    assert verdict.spec.sessionid == "sid"


def test_kiro_plain_lines_use_the_default_region():
    verdicts = parse_kiro("aorFIRSTTOKEN\n\n# note\naorSECONDTOKEN\n", default_region="eu-west-1")
    assert [(v.line, v.spec.region, v.spec.auth_type) for v in verdicts] == [
        (1, "eu-west-1", "social"),
        (4, "eu-west-1", "social"),
    ]


def test_kiro_json_keys_in_either_case_and_per_entry_region():
    text = json.dumps(
        [
            {
                "refreshToken": "aorONE",
                "clientId": "cid",
                "clientSecret": "cs",
                "region": "ap-southeast-1",
                "profileArn": "arn:aws:x",
                "accessToken": "ignored",
                "expiresAt": "2026-01-01T00:00:00Z",
            },
            {"refresh_token": "aorTWO", "auth_type": "Social", "api_region": "eu-west-1"},
            {"refresh_token": "aorTHREE", "region": "mars-1"},
            {"clientId": "cid"},
            {"refreshToken": "aorONE"},
            "aorFOUR",
            42,
        ]
    )
    verdicts = parse_kiro(text, default_region="eu-west-1")
    assert [v.line for v in verdicts] == [1, 2, 3, 4, 5, 6, 7]
    one, two = verdicts[0].spec, verdicts[1].spec
    assert (one.auth_type, one.client_id, one.region, one.profile_arn) == (
        "idc",
        "cid",
        "ap-southeast-1",
        "arn:aws:x",
    )
    assert (two.auth_type, two.region, two.api_region) == ("social", "eu-west-1", "eu-west-1")
    reasons = _reasons(verdicts)
    assert "us-east-1, ap-southeast-1, eu-west-1" in reasons[3]
    assert reasons[4].startswith("refresh_token")
    assert reasons[5].startswith("duplicate refresh token")
    assert verdicts[5].spec.refresh_token == "aorFOUR"
    assert "object" in reasons[7]


def test_kiro_single_object_and_json_lines():
    [single] = parse_kiro('\n  {"refreshToken": "aorONE",\n "region": "eu-west-1"}\n')
    assert single.line == 2 and single.spec.region == "eu-west-1"
    verdicts = parse_kiro('{"refreshToken": "aorONE"}\n{"refreshToken": "aorTWO"}\n{broken\naorTHREE')
    assert [type(v).__name__ for v in verdicts] == ["Accepted", "Accepted", "Rejected", "Accepted"]


def test_kiro_broken_json_list_is_one_verdict():
    [verdict] = parse_kiro('\n[{"refreshToken": "aorONE"},')
    assert isinstance(verdict, Rejected) and verdict.line == 2 and "invalid JSON" in verdict.reason


def test_exports_have_the_documented_shapes():
    kiro = parse_kiro('{"refreshToken": "aorONE", "clientId": "c", "clientSecret": "s"}')[0].spec
    assert format_kiro([kiro]) == [
        {
            "refreshToken": "aorONE",
            "clientId": "c",
            "clientSecret": "s",
            "profileArn": None,
            "region": "us-east-1",
            "authType": "idc",
            "apiRegion": None,
        }
    ]
    dreamina = parse_dreamina("a@x.co::hk:hk-sid")[0].spec
    assert format_dreamina([dreamina]) == "a@x.co::hk:hk-sid\n"
