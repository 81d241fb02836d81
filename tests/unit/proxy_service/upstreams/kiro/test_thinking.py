from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.proxy_service.upstreams.kiro.thinking import CLOSE, OPEN, ThinkingSplitter


def run(feeds: list[str], *, enabled: bool = True) -> list[tuple[bool, str]]:
    splitter = ThinkingSplitter(enabled)
    pieces: list[tuple[bool, str]] = []
    for feed in feeds:
        pieces += splitter.feed(feed)
    return pieces + splitter.flush()


def joined(pieces: list[tuple[bool, str]]) -> tuple[str, str]:
    """(all thinking, all text) in the order written."""
    return "".join(t for thinking, t in pieces if thinking), "".join(
        t for thinking, t in pieces if not thinking
    )


def test_a_leading_thinking_tag_is_split_from_the_answer() -> None:
    pieces = run(["<thinking>Let me think.</thinking>\n\nThe answer is 4."])

    assert pieces == [(True, "Let me think."), (False, "The answer is 4.")]


def test_whitespace_before_the_opening_tag_is_allowed() -> None:
    assert joined(run(["\n  <thinking>a</thinking>b"])) == ("a", "b")


@pytest.mark.parametrize("tag", [OPEN, CLOSE])
def test_a_tag_cut_at_every_position_is_still_recognised(tag: str) -> None:
    text = "<thinking>step one</thinking>\n\nanswer"
    start = text.index(tag)
    for cut in range(start + 1, start + len(tag)):
        pieces = run([text[:cut], text[cut:]])

        assert joined(pieces) == ("step one", "answer"), cut
        assert all(OPEN not in t and CLOSE not in t for _, t in pieces)


def test_a_tag_cut_into_single_characters_is_still_recognised() -> None:
    assert joined(run(list("<thinking>ab</thinking>\ncd"))) == ("ab", "cd")


def test_thinking_pieces_are_emitted_as_they_arrive_not_held_to_the_close() -> None:
    splitter = ThinkingSplitter(True)

    assert splitter.feed("<thinking>first") == [(True, "first")]
    assert splitter.feed(" second") == [(True, " second")]
    assert splitter.feed("</thinking>done") == [(False, "done")]


def test_only_a_possible_closing_tag_prefix_is_held_back() -> None:
    splitter = ThinkingSplitter(True)

    assert splitter.feed("<thinking>a </thi") == [(True, "a ")]
    assert splitter.feed("s is not the tag") == [(True, "</this is not the tag")]


def test_a_tag_later_in_the_answer_stays_text() -> None:
    text = "Use the <thinking> tag like this: <thinking>x</thinking>."

    assert run([text]) == [(False, text)]


def test_a_partial_opening_that_turns_out_to_be_text_is_released_whole() -> None:
    assert run(["<thi", "s is html"]) == [(False, "<this is html")]


def test_disabled_passes_everything_through_as_text() -> None:
    text = "<thinking>not parsed</thinking>\n\nanswer"

    assert run([text[:5], text[5:]], enabled=False) == [(False, text[:5]), (False, text[5:])]


def test_the_newlines_after_the_closing_tag_are_dropped_across_feeds() -> None:
    assert run(["<thinking>t</thinking>\n", "\n", "\nanswer\n\nmore"]) == [
        (True, "t"),
        (False, "answer\n\nmore"),
    ]


def test_empty_thinking_gives_no_thinking_piece() -> None:
    assert run(["<thinking></thinking>hello"]) == [(False, "hello")]


@pytest.mark.parametrize(
    ("feeds", "flushed"),
    [
        (["<thin"], [(False, "<thin")]),  # an answer that stopped inside the opening tag
        (["  "], [(False, "  ")]),
        (["<thinking>deep</thin"], [(True, "</thin")]),  # stopped inside the closing tag
    ],
)
def test_flush_releases_a_held_partial_tag_as_written(
    feeds: list[str], flushed: list[tuple[bool, str]]
) -> None:
    splitter = ThinkingSplitter(True)
    for feed in feeds:
        splitter.feed(feed)

    assert splitter.flush() == flushed
    assert splitter.flush() == []


def test_flush_with_nothing_held_is_empty() -> None:
    splitter = ThinkingSplitter(True)
    splitter.feed("<thinking>x</thinking>y")

    assert splitter.flush() == []


# Text built from the characters and fragments that matter to the tags, so cuts land inside them.
_fragments = st.sampled_from(
    [OPEN, CLOSE, "<", ">", "/", "<think", "</thin", "ing>", "\n", " ", "a", "b", "é", "thinking"]
)
_texts = st.lists(_fragments, max_size=14).map("".join)


@settings(max_examples=400)
@given(text=_texts, enabled=st.booleans(), data=st.data())
def test_any_split_into_feeds_gives_the_same_thinking_and_text_as_one_feed(
    text: str, enabled: bool, data: st.DataObject
) -> None:
    cuts = sorted(data.draw(st.sets(st.integers(0, len(text)), max_size=8)))
    feeds = [text[a:b] for a, b in pairwise([0, *cuts, len(text)])]

    whole = run([text], enabled=enabled)
    split = run(feeds, enabled=enabled)

    assert joined(split) == joined(whole)
    assert all(piece for _, piece in split)  # never an empty piece
    if not enabled:
        assert joined(split) == ("", text)


@settings(max_examples=200)
@given(
    thinking=st.text(st.sampled_from("ab<>/ \n"), max_size=20).filter(lambda t: CLOSE not in t),
    answer=st.text(st.sampled_from("ab<>/ \n"), max_size=20).filter(lambda t: not t.startswith("\n")),
    data=st.data(),
)
def test_the_thinking_and_answer_come_back_exactly(thinking: str, answer: str, data: st.DataObject) -> None:
    text = f"{OPEN}{thinking}{CLOSE}\n\n{answer}"
    cuts = sorted(data.draw(st.sets(st.integers(0, len(text)), max_size=6)))

    pieces = run([text[a:b] for a, b in pairwise([0, *cuts, len(text)])])

    assert joined(pieces) == (thinking, answer)
