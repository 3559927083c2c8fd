"""Secret hashing and key derivation: Argon2id and scrypt, parameters stored and honoured."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from desk.store import crypto
from desk.store.crypto import KdfParams, derive_key, hash_secret, needs_rehash, verify_secret

# Cheap parameters keep the suite fast; the defaults are exercised once, in the first test.
CHEAP = KdfParams.new("argon2id", {"m": 64, "t": 1, "p": 1})
CHEAP_SCRYPT = KdfParams.new("scrypt", {"n": 16, "r": 1, "p": 1})
PIN = "4721"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def test_default_hash_is_argon2id_with_its_parameters_and_round_trips() -> None:
    stored = hash_secret(PIN)
    scheme, cost, salt, digest = stored.split("$")
    assert (scheme, cost) == ("argon2id", "m=65536,t=3,p=4")
    assert len(_unb64(salt)) == crypto.SALT_BYTES and len(_unb64(digest)) == crypto.HASH_BYTES
    assert PIN not in stored
    assert verify_secret(PIN, stored)
    assert not needs_rehash(stored)


def test_wrong_pin_and_fresh_salts() -> None:
    first, second = hash_secret(PIN, CHEAP), hash_secret(PIN, CHEAP)
    assert first != second  # a fresh salt each time, even with the same params object
    assert first.split("$")[2] != CHEAP.to_dict()["salt"]
    assert verify_secret(PIN, first) and verify_secret(PIN, second)
    for wrong in ("4722", "472", "47211", "", " 4721"):
        assert not verify_secret(wrong, first)


def test_full_width_digits_equal_half_width() -> None:
    stored = hash_secret("１２３４", CHEAP)
    assert verify_secret("1234", stored)
    stored = hash_secret("pass1234", CHEAP)
    assert verify_secret("ｐａｓｓ１２３４", stored)
    assert not verify_secret("PASS1234", stored)


def test_stored_parameters_are_honoured_on_verify() -> None:
    stored = hash_secret(PIN, CHEAP)
    scheme, cost, salt, digest = stored.split("$")
    assert cost == "m=64,t=1,p=1"
    # An independent derivation with the parameters read from the string gives the same hash.
    expected = Argon2id(salt=_unb64(salt), length=32, iterations=1, lanes=1,
                        memory_cost=64).derive(PIN.encode())
    assert _unb64(digest) == expected
    # The verifier uses what the string says, not the defaults: other costs give other hashes.
    assert not verify_secret(PIN, f"{scheme}$m=64,t=2,p=1${salt}${digest}")
    assert not verify_secret(PIN, f"{scheme}$m=128,t=1,p=1${salt}${digest}")
    assert needs_rehash(stored)
    assert not needs_rehash(stored, CHEAP)


def test_scrypt_strings_are_supported() -> None:
    stored = hash_secret(PIN, CHEAP_SCRYPT)
    assert stored.startswith("scrypt$n=16,r=1,p=1$")
    assert verify_secret(PIN, stored) and not verify_secret("0000", stored)
    # A string made by another implementation (the standard library's scrypt) verifies too.
    salt = b"sixteen byte slt"
    digest = hashlib.scrypt(PIN.encode(), salt=salt, n=1024, r=8, p=1, dklen=32)
    foreign = f"scrypt$n=1024,r=8,p=1${_b64(salt)}${_b64(digest)}"
    assert verify_secret(PIN, foreign)
    assert not verify_secret("4720", foreign)
    assert needs_rehash(foreign)


@pytest.mark.parametrize("stored", [
    "",
    "argon2id",
    "argon2id$m=64,t=1,p=1",
    "argon2id$m=64,t=1,p=1$$",
    "argon2id$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$",
    "argon2id$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaA",  # hash too short
    "argon2id$t=1,m=64,p=1$c2FsdHNhbHRzYWx0$" + "A" * 43,  # parameters out of order
    "argon2id$m=64,t=1$c2FsdHNhbHRzYWx0$" + "A" * 43,
    "argon2id$m=64,t=1,p=1,x=2$c2FsdHNhbHRzYWx0$" + "A" * 43,
    "argon2id$m=-64,t=1,p=1$c2FsdHNhbHRzYWx0$" + "A" * 43,
    "argon2id$m=６４,t=1,p=1$c2FsdHNhbHRzYWx0$" + "A" * 43,
    "argon2id$m= 64,t=1,p=1$c2FsdHNhbHRzYWx0$" + "A" * 43,
    "argon2id$m=4,t=1,p=1$c2FsdHNhbHRzYWx0$" + "A" * 43,  # below 8 KiB per lane
    "argon2id$m=99999999,t=1,p=1$c2FsdHNhbHRzYWx0$" + "A" * 43,  # would need ~100 GB
    "argon2id$m=64,t=0,p=1$c2FsdHNhbHRzYWx0$" + "A" * 43,
    "argon2id$m=64,t=1,p=1$c2Fs$" + "A" * 43,  # salt too short
    "argon2id$m=64,t=1,p=1$not*base64!$" + "A" * 43,
    "argon2id$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$A",  # impossible base64 length
    "argon2id$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$" + "A" * 43 + "$extra",
    "scrypt$n=15,r=1,p=1$c2FsdHNhbHRzYWx0$" + "A" * 43,  # n not a power of two
    "scrypt$n=1048576,r=32,p=1$c2FsdHNhbHRzYWx0$" + "A" * 43,  # 4 GiB of memory
    "bcrypt$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$" + "A" * 43,
    "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
    "argon2id$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$" + "Ａ" * 43,
])
def test_malformed_stored_strings_verify_false_and_never_raise(stored: str) -> None:
    assert not verify_secret(PIN, stored)
    assert needs_rehash(stored)


@pytest.mark.parametrize("stored", [None, 42, b"argon2id$m=64,t=1,p=1$x$y"])
def test_non_strings_verify_false(stored: Any) -> None:
    assert not verify_secret(PIN, stored)


@pytest.fixture
def no_argon2id(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This platform's OpenSSL without Argon2id (before 3.2), as cryptography reports it."""

    def unsupported(**_: object) -> Argon2id:
        raise UnsupportedAlgorithm("Argon2id is not supported by this version of OpenSSL.")

    monkeypatch.setattr(crypto, "Argon2id", unsupported)
    crypto.argon2id_available.cache_clear()
    yield
    crypto.argon2id_available.cache_clear()


def test_hashing_falls_back_to_scrypt_without_argon2id(no_argon2id: None) -> None:
    assert not crypto.argon2id_available()
    for stored in (hash_secret(PIN, CHEAP), hash_secret(PIN)):
        assert stored.startswith("scrypt$n=65536,r=8,p=1$")
        assert verify_secret(PIN, stored)
    assert KdfParams.new().scheme == "scrypt"
    # An Argon2id hash cannot be checked here: False, not an exception.
    assert not verify_secret(PIN, "argon2id$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$" + "A" * 43)


def test_kdf_params_round_trip_through_a_dict() -> None:
    for params in (CHEAP, CHEAP_SCRYPT, KdfParams.new()):
        assert KdfParams.from_dict(params.to_dict()) == params
    assert CHEAP.to_dict()["cost"] == {"m": 64, "t": 1, "p": 1}


@pytest.mark.parametrize("change", [
    {"scheme": "pbkdf2"},
    {"salt": "***"},
    {"salt": "c2Fs"},
    {"cost": {"m": 64, "t": 1}},
    {"cost": {"m": 64, "t": 1, "p": 1, "q": 1}},
    {"cost": {"m": 64, "t": True, "p": 1}},
    {"cost": {"m": 64, "t": "1", "p": 1}},
    {"cost": {"m": 2**40, "t": 1, "p": 1}},
    {"cost": {"n": 16, "r": 1, "p": 1}},
    {"extra": 1},
])
def test_kdf_params_from_a_malformed_dict_raise_value_error(change: dict[str, Any]) -> None:
    data = {**CHEAP.to_dict(), **change}
    with pytest.raises(ValueError, match=r"KDF|base64"):
        KdfParams.from_dict(data)


def test_derive_key_is_repeatable_and_depends_on_passphrase_salt_and_cost() -> None:
    passphrase = "窓口の合言葉 2024"
    key = derive_key(passphrase, CHEAP)
    assert len(key) == 32
    assert derive_key(passphrase, KdfParams.from_dict(CHEAP.to_dict())) == key
    assert derive_key("窓口の合言葉　２０２４", CHEAP) == key  # NFKC: full-width space, digits
    assert derive_key(passphrase + "!", CHEAP) != key
    assert derive_key(passphrase, CHEAP.with_fresh_salt()) != key
    other_cost = KdfParams(CHEAP.scheme, CHEAP.salt, (("m", 64), ("t", 2), ("p", 1)))
    assert derive_key(passphrase, other_cost) != key
    assert len(derive_key(passphrase, CHEAP_SCRYPT)) == 32
