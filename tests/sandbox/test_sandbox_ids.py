"""The sandbox's random key ids and secrets (rootctl.sandbox.model): the lengths, prefixes and
alphabets AWS-shaped clients expect, every character reachable in every position."""

from __future__ import annotations

import string

import pytest

from rootctl.sandbox.model import random_id, random_secret

ID_ALPHABET = set(string.ascii_uppercase + string.digits)
SECRET_ALPHABET = set(string.ascii_letters + string.digits + "+/")


@pytest.mark.parametrize(
    ("prefix", "length", "alphabet"),
    [
        ("ASIA", 20, None),
        ("AKIA", 20, None),
        ("", 32, None),
        ("GAHT", 12, None),
        ("h-", 12, "abcdefghijklmnopqrstuvwxyz0123456789"),
    ],
)
def test_ids_have_their_prefix_length_and_alphabet(
    prefix: str, length: int, alphabet: str | None
) -> None:
    allowed = set(alphabet) if alphabet else ID_ALPHABET
    draws = [
        random_id(prefix, length, alphabet) if alphabet else random_id(prefix, length)
        for _ in range(3000)
    ]
    for value in draws:
        assert value.startswith(prefix) and len(value) == length
        assert set(value[len(prefix) :]) <= allowed
    for position in range(len(prefix), length):  # P(a miss) ~ 36 * (35/36)**3000: never
        assert {value[position] for value in draws} == allowed, position
    assert len(set(draws)) == len(draws)


def test_an_id_no_longer_than_its_prefix_is_the_prefix() -> None:
    assert random_id("ABCDE", 3) == "ABCDE"
    assert random_id("ASIA", 4) == "ASIA"


@pytest.mark.parametrize("length", [0, 1, 39, 40, 41, 356])
def test_secrets_have_their_length_and_alphabet(length: int) -> None:
    values = [random_secret(length) for _ in range(200)]
    assert all(len(v) == length and set(v) <= SECRET_ALPHABET for v in values)


def test_every_secret_character_is_reachable_in_every_position() -> None:
    draws = [random_secret(40) for _ in range(3000)]  # P(a miss) ~ 64 * (63/64)**3000: never
    for position in range(40):
        assert {value[position] for value in draws} == SECRET_ALPHABET, position
