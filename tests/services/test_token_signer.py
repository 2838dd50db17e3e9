"""Signed tokens: a session token whose signature verified is not verified again on its
next request (auth/tokens.py keeps it by its SHA-256), but it still expires on time, a
token altered by a single character is still refused, and nothing else is kept."""

from __future__ import annotations

import time

import pytest

from auth import tokens
from auth.tokens import InvalidToken, TokenPurpose, TokenSigner

DAY = 24 * 3600


def test_a_kept_session_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    signer = TokenSigner("k" * 32)
    token = signer.sign(TokenPurpose.SESSION, "abc")
    assert signer.unsign(TokenPurpose.SESSION, token, max_age_seconds=DAY) == "abc"
    assert signer.unsign(TokenPurpose.SESSION, token, max_age_seconds=DAY) == "abc"
    assert len(signer._verified) == 1
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + DAY + 5)
    with pytest.raises(InvalidToken, match=r"Signature age \d+ > 86400 seconds"):
        signer.unsign(TokenPurpose.SESSION, token, max_age_seconds=DAY)
    # a shorter age limit applies at once too
    monkeypatch.setattr(time, "time", lambda: now + 60)
    with pytest.raises(InvalidToken):
        signer.unsign(TokenPurpose.SESSION, token, max_age_seconds=30)
    assert signer.unsign(TokenPurpose.SESSION, token, max_age_seconds=None) == "abc"


def test_a_token_signed_in_the_future_is_refused_when_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    signer = TokenSigner("k" * 32)
    token = signer.sign(TokenPurpose.SESSION, "abc")
    signer.unsign(TokenPurpose.SESSION, token, max_age_seconds=DAY)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now - 120)  # the clock went back
    with pytest.raises(InvalidToken, match="< 0 seconds"):
        signer.unsign(TokenPurpose.SESSION, token, max_age_seconds=DAY)


def test_an_altered_token_is_refused_after_the_real_one_was_kept() -> None:
    signer = TokenSigner("k" * 32)
    token = signer.sign(TokenPurpose.SESSION, "abc")
    signer.unsign(TokenPurpose.SESSION, token, max_age_seconds=DAY)
    for position in (0, len(token) // 2, len(token) - 1):
        swapped = "A" if token[position] != "A" else "B"
        altered = token[:position] + swapped + token[position + 1 :]
        with pytest.raises(InvalidToken):
            signer.unsign(TokenPurpose.SESSION, altered, max_age_seconds=DAY)
    with pytest.raises(InvalidToken):
        signer.unsign(TokenPurpose.SESSION, token + "\udcff", max_age_seconds=DAY)
    with pytest.raises(InvalidToken):  # another signer's key
        TokenSigner("j" * 32).unsign(TokenPurpose.SESSION, token, max_age_seconds=DAY)
    assert len(signer._verified) == 1


def test_only_verified_session_tokens_are_kept_and_the_memo_is_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    signer = TokenSigner("k" * 32)
    link = signer.sign(TokenPurpose.MAGIC_LINK, "abc")
    assert signer.unsign(TokenPurpose.MAGIC_LINK, link, max_age_seconds=DAY) == "abc"
    with pytest.raises(InvalidToken):  # the purposes' salts still keep them apart
        signer.unsign(TokenPurpose.SESSION, link, max_age_seconds=DAY)
    expired = signer.sign(TokenPurpose.SESSION, "old")
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 2 * DAY)
    with pytest.raises(InvalidToken):
        signer.unsign(TokenPurpose.SESSION, expired, max_age_seconds=DAY)
    assert len(signer._verified) == 0
    monkeypatch.setattr(tokens, "VERIFIED_KEPT", 3)
    for n in range(5):
        signer.unsign(
            TokenPurpose.SESSION, signer.sign(TokenPurpose.SESSION, f"s{n}"), max_age_seconds=DAY
        )
    assert len(signer._verified) == 3
