"""The fake jimeng-api: HTTP-200 envelopes, the per-site model rules, region prefixes, token checks."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.fakes import jimeng_upstream
from tests.fakes._jimeng_state import EXPIRED_MESSAGE, JimengState

SID = "0123456789abcdef0123456789abcdef"


@pytest.fixture
async def jimeng():
    async with TestClient(TestServer(jimeng_upstream.create_app())) as client:
        yield client


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _generate(jimeng, token: str, **body) -> dict:
    response = await jimeng.post(
        "/v1/images/generations", json={"prompt": "a cat", **body}, headers=_auth(token)
    )
    assert response.status == 200  # jimeng-api answers failures with HTTP 200 too
    return await response.json()


async def test_a_live_token_gets_four_images_and_no_code(jimeng):
    answer = await _generate(jimeng, f"us-{SID}", model="jimeng-4.0")
    assert "code" not in answer
    assert len(answer["data"]) == 4 and all(item["url"].startswith("https://") for item in answer["data"])
    b64 = await _generate(jimeng, SID, response_format="b64_json")
    assert all(item["b64_json"] for item in b64["data"])


async def test_the_prefix_picks_the_site_and_the_log_records_it(jimeng):
    await _generate(jimeng, f"us-{SID}")
    await _generate(jimeng, SID)
    log = await (await jimeng.get("/_fake/requests")).json()
    assert [(e["jimeng"]["region"], e["jimeng"]["sessionid"]) for e in log] == [("us", SID), ("cn", SID)]
    assert log[0]["headers"]["authorization"] == f"Bearer us-{SID}"


async def test_a_model_the_international_site_does_not_serve_is_a_1000_and_cn_falls_back(jimeng):
    refused = await _generate(jimeng, f"us-{SID}", model="jimeng-5.0")
    assert refused["code"] == -1000 and refused["data"] is None
    assert "国际版不支持模型" in refused["message"]
    assert "code" not in await _generate(jimeng, f"hk-{SID}", model="jimeng-5.0")
    assert "code" not in await _generate(jimeng, SID, model="nanobanana")  # cn: the default instead
    log = await (await jimeng.get("/_fake/requests")).json()
    assert log[-1]["jimeng"]["model"] == "jimeng-4.5"


@pytest.mark.parametrize("field", ["size", "width", "height"])
async def test_size_width_and_height_are_refused(jimeng, field):
    assert (await _generate(jimeng, SID, **{field: "1024x1024"}))["code"] == -1000


async def test_a_missing_prompt_is_a_2000(jimeng):
    response = await jimeng.post("/v1/images/generations", json={"model": "jimeng-4.0"}, headers=_auth(SID))
    assert (await response.json())["code"] == -2000


async def test_a_dead_token_is_a_2002_and_check_says_not_live(jimeng):
    await jimeng.post(f"/_fake/jimeng/tokens/{SID}", json={"live": False})
    assert (await _generate(jimeng, f"us-{SID}"))["code"] == -2002
    check = await jimeng.post("/token/check", json={"token": f"us-{SID}"})
    assert await check.json() == {"live": False}


async def test_a_token_used_with_another_regions_prefix_is_refused_like_dreamina_does(jimeng):
    await jimeng.post(f"/_fake/jimeng/tokens/{SID}", json={"region": "us"})
    assert "code" not in await _generate(jimeng, f"us-{SID}")
    assert (await _generate(jimeng, SID))["code"] == -2002  # sent raw: the CN site does not know it
    assert await (await jimeng.post("/token/check", json={"token": f"hk-{SID}"})).json() == {"live": False}


async def test_no_credits_is_a_2009_and_points_are_reported_per_token(jimeng):
    await jimeng.post(f"/_fake/jimeng/tokens/{SID}", json={"points": 0})
    assert (await _generate(jimeng, SID))["code"] == -2009
    await jimeng.post("/_fake/jimeng/tokens/other", json={"points": 42})
    points = await (await jimeng.post("/token/points", headers=_auth(f"{SID},us-other"))).json()
    assert [(p["token"], p["points"]["totalCredit"]) for p in points] == [(SID, 0), ("us-other", 42)]


async def test_scripted_envelopes_http_statuses_and_times(jimeng):
    message = "[请求失败]: Not enough credits left (错误码: 1006)"
    await jimeng.post(f"/_fake/jimeng/scripts/{SID}", json={"code": -2001, "message": message, "times": 1})
    assert await _generate(jimeng, SID) == {"code": -2001, "message": message, "data": None}
    assert "code" not in await _generate(jimeng, SID)  # used up
    await jimeng.post(f"/_fake/jimeng/scripts/{SID}", json={"status": 429, "retry_after": 1, "times": 1})
    limited = await jimeng.post("/v1/images/generations", json={"prompt": "x"}, headers=_auth(SID))
    assert limited.status == 429 and limited.headers["retry-after"] == "1"
    await jimeng.post(f"/_fake/jimeng/scripts/{SID}", json={"status": 502})
    gateway = await jimeng.post("/v1/images/generations", json={"prompt": "x"}, headers=_auth(SID))
    assert gateway.status == 502
    view = await (await jimeng.get(f"/_fake/jimeng/tokens/{SID}")).json()
    assert view["calls"] == 4


async def test_bad_scripts_are_refused(jimeng):
    bad_scripts = (
        {"code": 5},
        {"status": 200},
        {"code": -2002, "status": 500},
        {"nope": 1},
        {"times": 0},
        {"status": 502, "routes": "login"},
    )
    for bad in bad_scripts:
        assert (await jimeng.post(f"/_fake/jimeng/scripts/{SID}", json=bad)).status == 400


async def test_compositions_take_json_urls_or_multipart_files(jimeng):
    urls = {"prompt": "merge", "images": ["https://x.invalid/a.png", {"url": "https://x.invalid/b.png"}]}
    answer = await (await jimeng.post("/v1/images/compositions", json=urls, headers=_auth(SID))).json()
    assert answer["input_images"] == 2 and answer["composition_type"] == "multi_image_synthesis"
    assert len(answer["data"]) == 4
    form = aiohttp.FormData()
    form.add_field("prompt", "merge")
    form.add_field("images", b"\x89PNG one", filename="a.png", content_type="image/png")
    form.add_field("images", b"\x89PNG two", filename="b.png", content_type="image/png")
    answer = await (await jimeng.post("/v1/images/compositions", data=form, headers=_auth(SID))).json()
    assert answer["input_images"] == 2
    log = await (await jimeng.get("/_fake/requests")).json()
    assert log[-1]["body"] == {"prompt": "merge"}
    assert [f["name"] for f in log[-1]["files"]] == ["images", "images"]
    none = await jimeng.post("/v1/images/compositions", json={"prompt": "merge"}, headers=_auth(SID))
    assert (await none.json())["code"] == -2000


async def test_videos_take_json_or_multipart(jimeng):
    answer = await (
        await jimeng.post(
            "/v1/videos/generations", json={"prompt": "waves", "duration": 5}, headers=_auth(SID)
        )
    ).json()
    assert answer["data"][0]["url"].endswith(".mp4") and answer["data"][0]["revised_prompt"] == "waves"
    form = aiohttp.FormData()
    form.add_field("prompt", "waves")
    form.add_field("image_file_1", b"\x89PNG", filename="first.png", content_type="image/png")
    answer = await (await jimeng.post("/v1/videos/generations", data=form, headers=_auth(SID))).json()
    assert len(answer["data"]) == 1


@pytest.fixture
async def jimeng_unknown_dead():
    fake = jimeng_upstream.create_app(jimeng=JimengState(unknown_live=False))
    async with TestClient(TestServer(fake)) as client:
        yield client


async def test_token_routes_answer_per_registered_sessionid_and_an_unknown_one_is_dead(jimeng_unknown_dead):
    fake = jimeng_unknown_dead
    registered = await fake.post(
        f"/_fake/jimeng/tokens/{SID}", json={"live": True, "points": 42, "region": "us"}
    )
    assert registered.status == 200
    assert await (await fake.post("/token/check", json={"token": f"us-{SID}"})).json() == {"live": True}
    assert await (await fake.post("/token/check", json={"token": SID})).json() == {"live": False}
    assert await (await fake.post("/token/check", json={"token": "us-unknown"})).json() == {"live": False}
    points = await (await fake.post("/token/points", headers=_auth(f"us-{SID}"))).json()
    assert points == [
        {
            "token": f"us-{SID}",
            "points": {"giftCredit": 42, "purchaseCredit": 0, "vipCredit": 0, "totalCredit": 42},
        }
    ]
    dead = await fake.post("/token/points", headers=_auth(f"us-{SID},us-unknown"))
    assert dead.status == 200 and await dead.json() == {
        "code": -2002,
        "message": EXPIRED_MESSAGE,
        "data": None,
    }
    logged = await (await fake.get("/_fake/requests")).json()
    assert [(e["path"], e["body"]) for e in logged][:2] == [
        ("/token/check", {"token": f"us-{SID}"}),
        ("/token/check", {"token": SID}),
    ]


async def test_a_killed_sessionid_is_dead_on_the_token_routes(jimeng):
    assert await (await jimeng.post("/token/check", json={"token": f"jp-{SID}"})).json() == {"live": True}
    await jimeng.post(f"/_fake/jimeng/tokens/{SID}", json={"live": False})
    assert await (await jimeng.post("/token/check", json={"token": f"jp-{SID}"})).json() == {"live": False}
    dead = await (await jimeng.post("/token/points", headers=_auth(f"jp-{SID}"))).json()
    assert dead["code"] == -2002


async def test_a_token_routes_script_fails_them_and_leaves_generations_alone(jimeng):
    scripted = await jimeng.post(f"/_fake/jimeng/scripts/{SID}", json={"status": 503, "routes": "token"})
    assert scripted.status == 200
    assert (await jimeng.post("/token/check", json={"token": f"us-{SID}"})).status == 503
    assert (await jimeng.post("/token/points", headers=_auth(f"other,us-{SID}"))).status == 503
    assert "code" not in await _generate(jimeng, f"us-{SID}")
    await jimeng.post(f"/_fake/jimeng/scripts/{SID}", json={"code": -2001, "routes": "token", "times": 1})
    envelope = await (await jimeng.post("/token/check", json={"token": SID})).json()
    assert envelope["code"] == -2001 and envelope["data"] is None
    assert await (await jimeng.post("/token/check", json={"token": SID})).json() == {"live": True}  # used up


async def test_a_generation_script_leaves_the_token_routes_alone(jimeng):
    await jimeng.post(f"/_fake/jimeng/scripts/{SID}", json={"status": 502, "times": 1})
    assert await (await jimeng.post("/token/check", json={"token": SID})).json() == {"live": True}
    refused = await jimeng.post("/v1/images/generations", json={"prompt": "x"}, headers=_auth(SID))
    assert refused.status == 502


async def test_a_token_check_without_a_token_is_a_2000(jimeng):
    answer = await jimeng.post("/token/check", json={})
    assert answer.status == 200
    assert (await answer.json())["code"] == -2000 and (await answer.json())["data"] is None
