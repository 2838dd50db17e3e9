"""services.identity_memo: answers by identity, never by equality, and bounded."""

from __future__ import annotations

from graphql import parse

from services.identity_memo import IdentityMemo


def test_the_same_document_is_worked_out_once_an_equal_one_again() -> None:
    memo: IdentityMemo[int] = IdentityMemo(maxsize=8)
    calls: list[str] = []
    document = parse("{ viewer { __typename } }")
    twin = parse("{ viewer { __typename } }")  # equal by value, another object

    def work(label: str) -> int:
        calls.append(label)
        return len(calls)

    assert memo.get((document,), lambda: work("first")) == 1
    assert memo.get((document,), lambda: work("again")) == 1
    assert memo.get((twin,), lambda: work("twin")) == 2
    assert calls == ["first", "twin"]


def test_it_keeps_at_most_maxsize_answers_least_recently_used_out_first() -> None:
    memo: IdentityMemo[str] = IdentityMemo(maxsize=2)
    a, b, c = object(), object(), object()
    memo.get((a,), lambda: "a")
    memo.get((b,), lambda: "b")
    memo.get((a,), lambda: "a again")  # a is the most recent now
    memo.get((c,), lambda: "c")  # b goes
    assert len(memo) == 2
    assert memo.get((a,), lambda: "a recomputed") == "a"
    assert memo.get((b,), lambda: "b recomputed") == "b recomputed"
