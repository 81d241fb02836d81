"""OpenAI image fields as jimeng-api takes them (reference/dreamina.md §1.7): quality → model, size →
ratio/resolution/intelligent_ratio, an allow-list, and never size/width/height upstream."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.proxy_service.formats import images
from services.proxy_service.formats.images import QualityModels, image_fields, size_fields, video_fields
from shared.errors import InvalidRequest

MODELS = QualityModels()


@pytest.mark.parametrize(
    ("model", "quality", "expected"),
    [
        (None, None, "jimeng-4.6"),
        ("", "low", "jimeng-4.0"),
        ("gpt-image-1", "medium", "jimeng-4.6"),
        ("GPT-image-1", "high", "jimeng-5.0"),
        ("dall-e-3", "high", "dall-e-3"),  # any other name passes (allocation refuses it, naming the regions)
        ("gpt-image-1", "hd", "jimeng-4.6"),  # unknown quality: auto
        ("jimeng-4.0", "high", "jimeng-4.0"),
        ("nanobanana", None, "nanobanana"),
    ],
)
def test_the_model_comes_from_quality_only_for_gpt_or_empty_models(model, quality, expected) -> None:
    assert image_fields({"prompt": "p", "model": model, "quality": quality}, MODELS)["model"] == expected


def test_the_quality_table_is_configurable() -> None:
    mine = QualityModels(low="a", medium="b", high="c", auto="d")
    assert [mine.model(q) for q in ("low", "medium", "high", "auto", None)] == ["a", "b", "c", "d", "d"]


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ("16:9", {"ratio": "16:9"}),
        ("auto", {"intelligent_ratio": True}),
        ("1024x1024", {"ratio": "1:1"}),
        ("1536x1024", {"ratio": "3:2"}),
        ("1024x1536", {"ratio": "2:3"}),
        ("1792x1024", {"ratio": "16:9"}),
        ("2560x1080", {"ratio": "21:9"}),
        ("4096x4096", {"ratio": "1:1", "resolution": "4k"}),
        ("5120x2880", {"ratio": "16:9", "resolution": "4k"}),
        ("4095x4095", {"ratio": "1:1"}),
    ],
)
def test_size_becomes_ratio_resolution_or_intelligent_ratio(size, expected) -> None:
    assert size_fields(size) == expected


@pytest.mark.parametrize("size", ["big", "0x100", "1024*1024", "5:4", 1024, "x"])
def test_a_size_that_means_nothing_is_a_400_naming_size(size) -> None:
    with pytest.raises(InvalidRequest) as refused:
        size_fields(size)
    assert refused.value.param == "size"


@given(width=st.integers(1, 20000), height=st.integers(1, 20000))
def test_any_pixel_size_maps_to_a_supported_ratio(width, height) -> None:
    mapped = size_fields(f"{width}x{height}")
    assert mapped["ratio"] in images.RATIOS
    assert (mapped.get("resolution") == "4k") == (max(width, height) >= 4096)


def test_only_allowed_fields_pass_and_size_width_height_never_do() -> None:
    sent = image_fields(
        {
            "prompt": "a cat",
            "model": "gpt-image-1",
            "n": 2,
            "quality": "low",
            "size": "1024x1024",
            "width": 10,
            "height": 10,
            "background": "transparent",
            "output_format": "png",
            "user": "u-1",
            "response_format": "b64_json",
            "negative_prompt": "dogs",
            "ratio": "4:3",  # `size` wins over the native fields
        },
        MODELS,
    )
    assert sent == {
        "prompt": "a cat",
        "negative_prompt": "dogs",
        "response_format": "b64_json",
        "model": "jimeng-4.0",
        "ratio": "1:1",
    }


def test_without_size_the_native_fields_pass() -> None:
    sent = image_fields(
        {
            "prompt": "p",
            "model": "jimeng-4.0",
            "ratio": "21:9",
            "resolution": "4k",
            "intelligent_ratio": False,
        },
        MODELS,
    )
    assert sent == {
        "prompt": "p",
        "model": "jimeng-4.0",
        "ratio": "21:9",
        "resolution": "4k",
        "intelligent_ratio": False,
    }


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({}, "prompt"),
        ({"prompt": "  "}, "prompt"),
        ({"prompt": 3}, "prompt"),
        ({"prompt": "p", "model": 5}, "model"),
        ({"prompt": "p", "response_format": "png"}, "response_format"),
    ],
)
def test_bad_fields_are_a_400_naming_the_field(fields, param) -> None:
    with pytest.raises(InvalidRequest) as refused:
        image_fields(fields, MODELS)
    assert refused.value.param == param


def test_video_fields_default_the_model_and_check_the_duration() -> None:
    sent = video_fields(
        {"prompt": "waves", "duration": "5", "size": "1280x720", "functionMode": "first_last_frames"}
    )
    assert sent == {
        "prompt": "waves",
        "duration": "5",
        "functionMode": "first_last_frames",
        "model": "jimeng-video-3.5-pro",
    }
    assert images.seconds(sent) == 5.0
    assert images.seconds({"prompt": "p"}) is None
    with pytest.raises(InvalidRequest) as refused:
        video_fields({"prompt": "p", "duration": "five"})
    assert refused.value.param == "duration"


def test_composition_urls_are_checked() -> None:
    urls = ["https://x.invalid/a.png", {"url": "https://x.invalid/b.png"}]
    assert images.image_urls(urls) == urls
    for bad in (None, [], ["https://x.invalid/a.png"] * 11, [{"href": "x"}], [""]):
        with pytest.raises(InvalidRequest):
            images.image_urls(bad)
