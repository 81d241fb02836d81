"""Bulk import through the API (good lines stored even when others fail) and export → re-import."""

from __future__ import annotations

import json

from tests.integration.account_service._api import Api

DREAMINA_TEXT = "\n".join(
    [
        "one@x.co:pw-one:us:sid-one-0001",  # 1 ok
        "two@x.co::cn:sid-two-0002",  # 2 ok (cn with sessionid)
        "three@x.co:pw-three::sid-three",  # 3 ok: empty region means cn
        "four@x.co:pw-four",  # 4 missing region
        "five@x.co:pw-five:cn",  # 5 cn without sessionid
        "",  # 6 blank: no verdict
        "# a comment",  # 7 comment: no verdict
        "six@x.co:pw-six:eu",  # 8 unknown region
        "ONE@x.co:pw:hk",  # 9 duplicate within the batch
        "seven@x.co:pw-seven:jp",  # 10 ok, password only (pending)
    ]
)


def _results(response) -> dict[int, dict]:
    assert response.status_code == 200, response.text
    return {r["line"]: r for r in response.json()["results"]}


def test_dreamina_import_stores_the_good_lines_and_explains_the_bad(api: Api):
    _, key = api.new_user()
    response = api.call("POST", "/accounts/dreamina/import", key, json={"text": DREAMINA_TEXT})
    results = _results(response)
    assert sorted(results) == [1, 2, 3, 4, 5, 8, 9, 10]
    assert [n for n, r in results.items() if r["ok"]] == [1, 2, 3, 10]
    assert (response.json()["imported"], response.json()["failed"]) == (4, 4)
    assert results[4]["reason"].startswith("missing region")
    assert "sessionid" in results[5]["reason"]
    assert "us, hk, jp, sg, cn" in results[8]["reason"]
    assert results[9]["reason"].startswith("duplicate email")
    assert "reason" not in results[1] and "account_id" not in results[4]

    listed = api.call("GET", "/accounts", key, params={"kind": "dreamina"}).json()
    assert listed["total"] == 4
    by_email = {a["settings"]["email"]: a for a in listed["items"]}
    assert by_email["three@x.co"]["region"] == "cn"
    assert by_email["seven@x.co"]["status"] == "pending" and by_email["one@x.co"]["status"] == "active"

    again = _results(
        api.call("POST", "/accounts/dreamina/import", key, json={"text": "one@x.co:pw:us\nnew@x.co:p:sg"})
    )
    assert again[1]["ok"] is False and again[1]["reason"].startswith("duplicate email")
    assert again[2]["ok"] is True, "a line after a failed one is still stored (savepoint per line)"
    assert api.call("GET", "/accounts", key, params={"kind": "dreamina"}).json()["total"] == 5


def test_kiro_import_plain_lines_and_json(api: Api):
    _, key = api.new_user()
    plain = _results(
        api.call(
            "POST",
            "/accounts/kiro/import",
            key,
            json={
                "text": "aorPLAINtoken0001\n\n#skip\naor with space\naorPLAINtoken0002\n",
                "default_region": "eu-west-1",
            },
        )
    )
    assert [(n, r["ok"]) for n, r in plain.items()] == [(1, True), (4, False), (5, True)]
    entries = [
        {
            "refreshToken": "aorJSONtoken0001",
            "clientId": "cid",
            "clientSecret": "csecret",
            "region": "ap-southeast-1",
        },
        {"refresh_token": "aorJSONtoken0002", "profile_arn": "arn:aws:codewhisperer:x"},
        {"refreshToken": "aorJSONtoken0003", "region": "sa-east-1"},
    ]
    json_results = _results(
        api.call("POST", "/accounts/kiro/import", key, json={"text": json.dumps(entries)})
    )
    assert [r["ok"] for r in json_results.values()] == [True, True, False]
    assert "us-east-1, ap-southeast-1, eu-west-1" in json_results[3]["reason"]
    listed = api.call("GET", "/accounts", key, params={"kind": "kiro", "per_page": 200}).json()["items"]
    regions = sorted(a["region"] for a in listed)
    assert regions == ["ap-southeast-1", "eu-west-1", "eu-west-1", "us-east-1"]
    assert {a["status"] for a in listed} == {"pending"}
    idc = next(a for a in listed if a["region"] == "ap-southeast-1")
    assert idc["settings"]["auth_type"] == "idc"
    bad_default = api.call("POST", "/accounts/kiro/import", key, json={"text": "aorX", "default_region": "x"})
    assert bad_default.status_code == 422 and bad_default.json()["error"]["param"] == "default_region"


def test_export_then_import_in_another_user_reproduces_the_accounts(api: Api):
    alice, alice_key = api.new_user()
    bob, bob_key = api.new_user()
    api.call("POST", "/accounts/dreamina/import", alice_key, json={"text": DREAMINA_TEXT})
    api.call(
        "POST",
        "/accounts/kiro/import",
        alice_key,
        json={
            "text": json.dumps(
                [
                    {
                        "refreshToken": "aorEXPORT0001",
                        "clientId": "cid",
                        "clientSecret": "cs",
                        "region": "eu-west-1",
                        "apiRegion": "us-east-1",
                        "profileArn": "arn:aws:codewhisperer:y",
                    },
                    {"refreshToken": "aorEXPORT0002"},
                ]
            )
        },
    )

    dreamina = api.call(
        "GET", "/accounts/dreamina/export", api.admin_key, params={"owner": alice["username"]}
    )
    assert dreamina.status_code == 200 and dreamina.headers["content-type"].startswith("text/plain")
    assert "one@x.co:pw-one:us:sid-one-0001\n" in dreamina.text
    assert (
        "three@x.co:pw-three:cn:sid-three\n" in dreamina.text and "seven@x.co:pw-seven:jp:\n" in dreamina.text
    )
    kiro = api.call("GET", "/accounts/kiro/export", api.admin_key, params={"owner": alice["username"]})
    assert kiro.status_code == 200
    assert {e["refreshToken"] for e in kiro.json()} == {"aorEXPORT0001", "aorEXPORT0002"}
    assert set(kiro.json()[0]) == {
        "refreshToken",
        "clientId",
        "clientSecret",
        "profileArn",
        "region",
        "authType",
        "apiRegion",
    }

    reimported = api.call("POST", "/accounts/dreamina/import", bob_key, json={"text": dreamina.text}).json()
    assert reimported["failed"] == 0 and reimported["imported"] == 4
    assert api.call("POST", "/accounts/kiro/import", bob_key, json={"text": kiro.text}).json()["failed"] == 0

    bob_dreamina = api.call(
        "GET", "/accounts/dreamina/export", api.admin_key, params={"owner": bob["username"]}
    )
    bob_kiro = api.call("GET", "/accounts/kiro/export", api.admin_key, params={"owner": bob["username"]})
    assert sorted(bob_dreamina.text.splitlines()) == sorted(dreamina.text.splitlines())
    assert sorted(bob_kiro.json(), key=str) == sorted(kiro.json(), key=str)


def test_an_owner_exports_only_their_own_dreamina_accounts_and_the_export_imports_again(api: Api):
    alice, alice_key = api.new_user()
    bob, bob_key = api.new_user()
    _, carol_key = api.new_user()
    assert _results(api.call("POST", "/accounts/dreamina/import", alice_key, json={"text": DREAMINA_TEXT}))
    bob_line = "bob@x.co:pw-bob:sg:sid-bob-0001"
    assert (
        api.call("POST", "/accounts/dreamina/import", bob_key, json={"text": bob_line}).json()["imported"]
        == 1
    )

    mine = api.call("GET", "/accounts/dreamina/export", alice_key)
    assert mine.status_code == 200 and mine.headers["content-type"].startswith("text/plain")
    assert mine.headers["content-disposition"] == 'attachment; filename="dreamina_accounts.txt"'
    assert sorted(mine.text.splitlines()) == [
        "one@x.co:pw-one:us:sid-one-0001",
        "seven@x.co:pw-seven:jp:",
        "three@x.co:pw-three:cn:sid-three",
        "two@x.co::cn:sid-two-0002",
    ]
    assert api.call(
        "GET", "/accounts/dreamina/export", alice_key, params={"owner": alice["username"]}
    ).text == (mine.text)

    reimported = api.call("POST", "/accounts/dreamina/import", carol_key, json={"text": mine.text}).json()
    assert (reimported["imported"], reimported["failed"]) == (4, 0)
    assert sorted(api.call("GET", "/accounts/dreamina/export", carol_key).text.splitlines()) == sorted(
        mine.text.splitlines()
    )

    everyone = api.call("GET", "/accounts/dreamina/export", api.admin_key).text.splitlines()
    assert bob_line in everyone and set(mine.text.splitlines()) <= set(everyone)
    bobs = api.call("GET", "/accounts/dreamina/export", api.admin_key, params={"owner": bob["username"]})
    assert bobs.text == bob_line + "\n"
    refused = api.call("GET", "/accounts/dreamina/export", bob_key, params={"owner": alice["username"]})
    assert refused.status_code == 403 and refused.json()["error"]["param"] == "owner"
