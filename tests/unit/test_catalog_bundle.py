"""Signed catalog bundles (acceptance test 17): every forged, stale or broken bundle is refused."""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desk.catalog import bundle as bundles
from desk.catalog.bundle import (
    CATALOG_DIR,
    CURRENT_BUNDLE,
    KEYS_DIR,
    PREVIOUS_BUNDLE,
    active_catalog,
    build_bundle,
    bundle_version,
    canonical_bytes,
    collect_files,
    content_digest,
    install_bundle,
    key_id,
    load_active_catalog,
    load_trusted_keys,
    private_key_pem,
    public_key_pem,
    read_bundle,
    sign_catalog,
    verify_bundle,
)
from desk.errors import CatalogError

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "catalog"
NOW = datetime(2026, 5, 12, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def signer() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture(scope="module")
def keys(signer: Ed25519PrivateKey) -> dict[str, Any]:
    return {key_id(signer.public_key()): signer.public_key()}


@pytest.fixture
def catalog_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "source"
    shutil.copytree(FIXTURE, folder)
    return folder


@pytest.fixture
def profile(tmp_path: Path) -> Path:
    folder = tmp_path / "profile"
    folder.mkdir()
    return folder


def _sign(signer: Ed25519PrivateKey, version: int = 1, *, files: dict[str, str] | None = None,
          issued: datetime = NOW - DAY, valid: timedelta = 30 * DAY) -> bytes:
    return build_bundle(files if files is not None else collect_files(FIXTURE), signer,
                        version=version, issued_at=issued, expires_at=issued + valid)


def _resign(data: bytes, signer: Ed25519PrivateKey,
            change: Callable[[dict[str, Any]], None]) -> bytes:
    """Edit a bundle's document and sign it again properly (a signer's own bad bundle)."""
    document = json.loads(data)
    document.pop("signature")
    change(document)
    document["signature"] = base64.b64encode(signer.sign(canonical_bytes(document))).decode()
    return json.dumps(document, ensure_ascii=False).encode()


def _edit(data: bytes, change: Callable[[dict[str, Any]], None]) -> bytes:
    """Edit a bundle's document and keep the old signature (an attacker without the key)."""
    document = json.loads(data)
    change(document)
    return json.dumps(document, ensure_ascii=False).encode()


def _refused(data: bytes, keys: dict[str, Any], message_id: str, **kwargs: Any) -> CatalogError:
    with pytest.raises(CatalogError) as caught:
        verify_bundle(data, keys, now=kwargs.pop("now", NOW), **kwargs)
    assert caught.value.message_id == message_id, caught.value.params
    return caught.value


# -- the format ---------------------------------------------------------------------------------


def test_a_signed_bundle_verifies_and_holds_the_catalog(signer: Ed25519PrivateKey,
                                                        keys: dict[str, Any]) -> None:
    data = _sign(signer, 3)
    verified = verify_bundle(data, keys, now=NOW)
    assert verified.bundle.version == 3
    assert verified.bundle.key_id == key_id(signer.public_key())
    assert sorted(verified.catalog.procedures) == ["alpha", "beta"]
    assert verified.bundle.content_sha256 == content_digest(collect_files(FIXTURE))
    assert bundle_version_of(data) == 3


def bundle_version_of(data: bytes) -> int:
    return int(json.loads(data)["version"])


def test_formatting_of_the_file_does_not_matter_but_every_value_does(
        signer: Ed25519PrivateKey, keys: dict[str, Any]) -> None:
    compact = json.dumps(json.loads(_sign(signer)), separators=(",", ":")).encode()
    assert read_bundle(compact, keys).version == 1


def test_sign_catalog_refuses_a_folder_that_does_not_load(
        catalog_dir: Path, signer: Ed25519PrivateKey) -> None:
    (catalog_dir / "koseki" / "alpha.yaml").write_text("schema_version: 1\nid: [\n",
                                                        encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        sign_catalog(catalog_dir, signer, version=1, issued_at=NOW, valid_for=DAY)
    assert caught.value.message_id == "catalog.syntax"


def test_sign_catalog_skips_hidden_files_and_refuses_symlinks(
        catalog_dir: Path, signer: Ed25519PrivateKey, keys: dict[str, Any],
        tmp_path: Path) -> None:
    (catalog_dir / ".git").mkdir()
    (catalog_dir / ".git" / "HEAD").write_text("ref", encoding="utf-8")
    (catalog_dir / ".alpha.yaml.swp").write_bytes(b"\xff\xfe")
    data = sign_catalog(catalog_dir, signer, version=2, issued_at=NOW, valid_for=DAY)
    assert set(read_bundle(data, keys).files) == set(collect_files(FIXTURE))
    outside = tmp_path / "outside.yaml"
    outside.write_text("schema_version: 1\n", encoding="utf-8")
    try:
        (catalog_dir / "koseki" / "link.yaml").symlink_to(outside)
    except OSError:
        pytest.skip("no symlinks on this file system")
    with pytest.raises(CatalogError) as caught:
        sign_catalog(catalog_dir, signer, version=2, issued_at=NOW, valid_for=DAY)
    assert (caught.value.message_id, caught.value.params["reason"]) == (
        "catalog.bundle_source", "symlink")


# -- refusals (acceptance test 17) ------------------------------------------------------------


def test_tampered_file_content_is_refused(signer: Ed25519PrivateKey,
                                          keys: dict[str, Any]) -> None:
    def change(document: dict[str, Any]) -> None:
        document["files"]["koseki/alpha.yaml"] += "\n# 改ざん\n"
        document["sha256"] = content_digest(document["files"])  # even with a matching digest

    _refused(_edit(_sign(signer), change), keys, "catalog.bundle_bad_signature")


@pytest.mark.parametrize(("name", "value"), [
    ("version", 99), ("expiresAt", "2099-01-01T00:00:00+00:00"),
    ("issuedAt", "2026-05-01T00:00:00+00:00"), ("sha256", "0" * 64),
])
def test_tampered_metadata_is_refused(signer: Ed25519PrivateKey, keys: dict[str, Any],
                                      name: str, value: Any) -> None:
    _refused(_edit(_sign(signer), lambda d: d.update({name: value})), keys,
             "catalog.bundle_bad_signature")


def test_an_added_file_is_refused(signer: Ed25519PrivateKey, keys: dict[str, Any]) -> None:
    _refused(_edit(_sign(signer), lambda d: d["files"].update({"koseki/x.yaml": "a: 1\n"})),
             keys, "catalog.bundle_bad_signature")


@pytest.mark.parametrize("signature", [None, ""])
def test_an_unsigned_bundle_is_refused(signer: Ed25519PrivateKey, keys: dict[str, Any],
                                       signature: str | None) -> None:
    _refused(_edit(_sign(signer), lambda d: d.update({"signature": signature})), keys,
             "catalog.bundle_unsigned")
    _refused(_edit(_sign(signer), lambda d: d.pop("signature")), keys, "catalog.bundle_unsigned")


@pytest.mark.parametrize("signature", ["AAAA", "not base64!", 12, "A" * 86 + "=="])
def test_a_garbage_signature_is_refused(signer: Ed25519PrivateKey, keys: dict[str, Any],
                                        signature: Any) -> None:
    _refused(_edit(_sign(signer), lambda d: d.update({"signature": signature})), keys,
             "catalog.bundle_bad_signature")


def test_a_bundle_signed_by_another_key_is_refused(signer: Ed25519PrivateKey,
                                                   keys: dict[str, Any]) -> None:
    stranger = Ed25519PrivateKey.generate()
    error = _refused(_sign(stranger), keys, "catalog.bundle_unknown_key")
    assert error.params == {"key_id": key_id(stranger.public_key())}


def test_a_wrong_key_under_a_trusted_key_id_is_refused(signer: Ed25519PrivateKey,
                                                        keys: dict[str, Any]) -> None:
    stranger = Ed25519PrivateKey.generate()
    # The stranger claims the trusted key's id: the signature does not verify under it.
    forged = _resign(_sign(stranger), stranger,
                     lambda d: d.update({"keyId": key_id(signer.public_key())}))
    _refused(forged, keys, "catalog.bundle_bad_signature")


def test_expired_metadata_is_refused(signer: Ed25519PrivateKey, keys: dict[str, Any]) -> None:
    data = _sign(signer, issued=NOW - 10 * DAY, valid=5 * DAY)
    error = _refused(data, keys, "catalog.bundle_expired")
    assert error.params["version"] == 1
    assert verify_bundle(data, keys, now=NOW - 6 * DAY).bundle.version == 1


def test_a_lower_version_is_refused(signer: Ed25519PrivateKey, keys: dict[str, Any]) -> None:
    installed = read_bundle(_sign(signer, 5), keys)
    _refused(_sign(signer, 4), keys, "catalog.bundle_rollback", installed=installed)


def test_the_installed_version_with_other_content_is_refused(
        signer: Ed25519PrivateKey, keys: dict[str, Any]) -> None:
    installed = read_bundle(_sign(signer, 5), keys)
    files = collect_files(FIXTURE)
    files["koseki/alpha.yaml"] += "\n# 別の内容\n"
    _refused(_sign(signer, 5, files=files), keys, "catalog.bundle_replay", installed=installed)


@pytest.mark.parametrize("path", [
    "../evil.yaml", "koseki/../../evil.yaml", "/etc/evil.yaml", "C:/evil.yaml", "c:evil.yaml",
    "koseki\\..\\evil.yaml", "koseki//alpha.yaml", "./koseki/a.yaml", "koseki/.hidden.yaml",
    "koseki/a.yaml.", "koseki/con ", "", "a\x00b.yaml", "x/" * 200 + "a.yaml",
])
def test_paths_that_could_leave_the_folder_are_refused(
        signer: Ed25519PrivateKey, keys: dict[str, Any], path: str) -> None:
    files = collect_files(FIXTURE)
    files[path] = "schema_version: 1\n"
    _refused(_sign(signer, files=files), keys, "catalog.bundle_path")


def test_paths_that_collide_on_windows_or_as_folders_are_refused(
        signer: Ed25519PrivateKey, keys: dict[str, Any]) -> None:
    for extra in ({"KOSEKI/alpha.yaml": "x: 1\n"}, {"koseki/alpha.yaml/x.yaml": "x: 1\n"}):
        files = {**collect_files(FIXTURE), **extra}
        _refused(_sign(signer, files=files), keys, "catalog.bundle_path")


def test_a_broken_catalog_inside_a_valid_signature_is_refused(
        signer: Ed25519PrivateKey, keys: dict[str, Any]) -> None:
    files = collect_files(FIXTURE)
    files["koseki/alpha.yaml"] = files["koseki/alpha.yaml"].replace("schema_version: 1",
                                                                    "schema_version: 9")
    error = _refused(_sign(signer, files=files), keys, "catalog.bundle_broken")
    assert error.params["file"] == "koseki/alpha.yaml"
    assert error.params["key"] == "schema_version"


def test_a_digest_that_does_not_match_the_files_is_refused(
        signer: Ed25519PrivateKey, keys: dict[str, Any]) -> None:
    _refused(_resign(_sign(signer), signer, lambda d: d.update({"sha256": "0" * 64})), keys,
             "catalog.bundle_digest")


@pytest.mark.parametrize("data", [
    b"", b"not json", b"[]", b'{"format": "madoguchi-catalog-bundle/1"}', b"\xff\xfe{}",
    b'{"format": "madoguchi-catalog-bundle/1", "format": "x"}', b"[" * 100_000,
])
def test_malformed_bundles_are_refused(keys: dict[str, Any], data: bytes) -> None:
    _refused(data, keys, "catalog.bundle_malformed")


@pytest.mark.parametrize(("name", "value"), [
    ("version", 0), ("version", True), ("version", 1.5), ("version", "2"), ("version", 2**60),
    ("issuedAt", "2026-05-12T10:00:00"), ("expiresAt", "2020-01-01T00:00:00+00:00"),
    ("expiresAt", "tomorrow"), ("files", {}), ("files", {"a.yaml": 1}), ("files", []),
    ("keyId", "XYZ"), ("sha256", "abc"), ("extra", 1),
])
def test_malformed_fields_are_refused_even_when_signed(
        signer: Ed25519PrivateKey, keys: dict[str, Any], name: str, value: Any) -> None:
    _refused(_resign(_sign(signer), signer, lambda d: d.update({name: value})), keys,
             "catalog.bundle_malformed")


def test_another_format_is_refused(signer: Ed25519PrivateKey, keys: dict[str, Any]) -> None:
    _refused(_resign(_sign(signer), signer,
                     lambda d: d.update({"format": "madoguchi-catalog-bundle/2"})),
             keys, "catalog.bundle_format")


def test_refusals_never_echo_file_content(signer: Ed25519PrivateKey,
                                          keys: dict[str, Any]) -> None:
    files = collect_files(FIXTURE)
    files["koseki/alpha.yaml"] = "schema_version: 1\nid: 窓口　太郎 621498320257\n"
    error = _refused(_sign(signer, files=files), keys, "catalog.bundle_broken")
    assert error.params["key"] == "id"
    assert "621498320257" not in repr(error.params) + str(error)
    assert "太郎" not in repr(error.params) + str(error)


# -- install and the active catalog ------------------------------------------------------------


def _installed(profile: Path) -> dict[str, int | None]:
    folder = profile / CATALOG_DIR
    return {name: (bundle_version(folder / name) if (folder / name).exists() else None)
            for name in (CURRENT_BUNDLE, PREVIOUS_BUNDLE)}


def test_install_keeps_the_last_good_bundle(profile: Path, signer: Ed25519PrivateKey,
                                            keys: dict[str, Any]) -> None:
    assert active_catalog(profile, keys, NOW).origin == "shipped"
    first = install_bundle(profile, _sign(signer, 1), keys, now=NOW)
    assert (first.outcome, first.version) == ("installed", 1)
    assert first.catalog is not None and "alpha" in first.catalog.procedures
    assert _installed(profile) == {CURRENT_BUNDLE: 1, PREVIOUS_BUNDLE: None}
    assert install_bundle(profile, _sign(signer, 2), keys, now=NOW).outcome == "installed"
    assert _installed(profile) == {CURRENT_BUNDLE: 2, PREVIOUS_BUNDLE: 1}
    same = install_bundle(profile, _sign(signer, 2), keys, now=NOW)
    assert (same.outcome, same.version) == ("unchanged", 2)
    active = active_catalog(profile, keys, NOW)
    assert (active.origin, active.version, active.expired, active.problems) == (
        "current", 2, False, ())
    if os.name == "posix":
        assert (profile / CATALOG_DIR / CURRENT_BUNDLE).stat().st_mode & 0o077 == 0


REFUSALS: dict[str, tuple[str, Callable[[Ed25519PrivateKey], bytes]]] = {
    "tampered": ("catalog.bundle_bad_signature",
                 lambda s: _edit(_sign(s, 3), lambda d: d["files"].update({"a.yaml": "x"}))),
    "unsigned": ("catalog.bundle_unsigned",
                 lambda s: _edit(_sign(s, 3), lambda d: d.pop("signature"))),
    "rolled back": ("catalog.bundle_rollback", lambda s: _sign(s, 1)),
    "replayed": ("catalog.bundle_replay",
                 lambda s: _sign(s, 2, files={**collect_files(FIXTURE), "koseki/c.md": "x"})),
    "expired": ("catalog.bundle_expired", lambda s: _sign(s, 3, issued=NOW - 9 * DAY, valid=DAY)),
    "unknown key": ("catalog.bundle_unknown_key",
                    lambda s: _sign(Ed25519PrivateKey.generate(), 3)),
    "path traversal": ("catalog.bundle_path",
                       lambda s: _sign(s, 3, files={**collect_files(FIXTURE), "../x.yaml": ""})),
    "broken catalog": ("catalog.bundle_broken",
                       lambda s: _sign(s, 3, files={"business-areas.yaml": "schema_version: 1"})),
    "malformed": ("catalog.bundle_malformed", lambda s: b"{"),
}


@pytest.mark.parametrize("kind", REFUSALS)
def test_a_refused_update_leaves_the_installed_catalog_as_it_was(
        profile: Path, signer: Ed25519PrivateKey, keys: dict[str, Any], kind: str) -> None:
    install_bundle(profile, _sign(signer, 1), keys, now=NOW)
    install_bundle(profile, _sign(signer, 2), keys, now=NOW)
    before = {p.name: p.read_bytes() for p in (profile / CATALOG_DIR).iterdir()}
    message_id, make = REFUSALS[kind]
    with pytest.raises(CatalogError) as caught:
        install_bundle(profile, make(signer), keys, now=NOW)
    assert caught.value.message_id == message_id
    after = {p.name: p.read_bytes() for p in (profile / CATALOG_DIR).iterdir()}
    assert after == before  # no temp file left either
    active = active_catalog(profile, keys, NOW)
    assert (active.origin, active.version) == ("current", 2)


def test_a_damaged_current_bundle_falls_back_to_the_previous_one(
        profile: Path, signer: Ed25519PrivateKey, keys: dict[str, Any]) -> None:
    install_bundle(profile, _sign(signer, 1), keys, now=NOW)
    install_bundle(profile, _sign(signer, 2), keys, now=NOW)
    current = profile / CATALOG_DIR / CURRENT_BUNDLE
    current.write_bytes(current.read_bytes().replace(b"alpha", b"alphA"))
    active = active_catalog(profile, keys, NOW)
    assert (active.origin, active.version) == ("previous", 1)
    assert [(p.message_id, p.params["bundle"]) for p in active.problems] == [
        ("catalog.bundle_bad_signature", CURRENT_BUNDLE)]
    # Updates are measured against the last good bundle; the damaged one is replaced and the
    # good previous one is not overwritten by it.
    assert install_bundle(profile, _sign(signer, 1), keys, now=NOW).outcome == "unchanged"
    assert install_bundle(profile, _sign(signer, 3), keys, now=NOW).outcome == "installed"
    assert _installed(profile) == {CURRENT_BUNDLE: 3, PREVIOUS_BUNDLE: 1}


def test_both_bundles_damaged_falls_back_to_the_shipped_catalog(
        profile: Path, signer: Ed25519PrivateKey, keys: dict[str, Any]) -> None:
    install_bundle(profile, _sign(signer, 1), keys, now=NOW)
    install_bundle(profile, _sign(signer, 2), keys, now=NOW)
    (profile / CATALOG_DIR / CURRENT_BUNDLE).write_bytes(b"")
    (profile / CATALOG_DIR / PREVIOUS_BUNDLE).write_bytes(b"{}")
    active = active_catalog(profile, keys, NOW)
    assert (active.origin, active.version) == ("shipped", None)
    assert len(active.catalog.procedures) > 2  # the real catalog, not the fixture
    assert len(active.problems) == 2


def test_a_bundle_signed_by_a_key_no_longer_trusted_is_not_used(
        profile: Path, signer: Ed25519PrivateKey, keys: dict[str, Any]) -> None:
    install_bundle(profile, _sign(signer, 1), keys, now=NOW)
    active = active_catalog(profile, {}, NOW)
    assert active.origin == "shipped"
    assert active.problems[0].message_id == "catalog.bundle_unknown_key"


def test_an_installed_bundle_that_expired_stays_in_use_flagged(
        profile: Path, signer: Ed25519PrivateKey, keys: dict[str, Any]) -> None:
    install_bundle(profile, _sign(signer, 1, valid=2 * DAY), keys, now=NOW)
    active = active_catalog(profile, keys, NOW + 30 * DAY)
    assert (active.origin, active.version, active.expired) == ("current", 1, True)


def test_install_survives_a_failure_between_temp_write_and_replace(
        profile: Path, signer: Ed25519PrivateKey, keys: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    install_bundle(profile, _sign(signer, 1), keys, now=NOW)
    install_bundle(profile, _sign(signer, 2), keys, now=NOW)
    real_replace = os.replace

    def failing_replace(source: Any, target: Any, *args: Any, **kwargs: Any) -> None:
        if Path(target).name == CURRENT_BUNDLE:
            assert Path(source).read_bytes() == new  # the temp file was fully written
            raise OSError(28, "No space left on device")
        real_replace(source, target, *args, **kwargs)

    new = _sign(signer, 3)
    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        install_bundle(profile, new, keys, now=NOW)
    monkeypatch.undo()
    assert sorted(p.name for p in (profile / CATALOG_DIR).iterdir()) == [
        CURRENT_BUNDLE, PREVIOUS_BUNDLE]  # no temp file left behind
    # The crash fell after previous.bundle was refreshed: both files are still version 2.
    assert _installed(profile) == {CURRENT_BUNDLE: 2, PREVIOUS_BUNDLE: 2}
    assert active_catalog(profile, keys, NOW).version == 2
    assert install_bundle(profile, new, keys, now=NOW).outcome == "installed"
    assert _installed(profile) == {CURRENT_BUNDLE: 3, PREVIOUS_BUNDLE: 2}


# -- keys -------------------------------------------------------------------------------------


def test_trusted_keys_come_from_pem_files_and_never_from_private_keys(
        tmp_path: Path, signer: Ed25519PrivateKey) -> None:
    folder = tmp_path / KEYS_DIR
    folder.mkdir()
    (folder / "signer.pem").write_bytes(public_key_pem(signer.public_key()))
    (folder / "oops.pem").write_bytes(private_key_pem(signer))
    (folder / "junk.pem").write_text("-----BEGIN PUBLIC KEY-----\n", encoding="ascii")
    (folder / "README.md").write_text("not a key", encoding="utf-8")
    found, problems = load_trusted_keys([folder, tmp_path / "missing"])
    assert list(found) == [key_id(signer.public_key())]
    assert sorted((p.params["file"], p.params["reason"]) for p in problems) == [
        ("junk.pem", "ValueError"), ("oops.pem", "private_key")]


def test_the_app_entry_point_trusts_keys_in_the_profile(
        profile: Path, signer: Ed25519PrivateKey, keys: dict[str, Any]) -> None:
    install_bundle(profile, _sign(signer, 4), keys, now=NOW)
    assert load_active_catalog(profile, NOW).origin == "shipped"  # key not trusted yet
    (profile / KEYS_DIR).mkdir()
    (profile / KEYS_DIR / "municipality.pem").write_bytes(public_key_pem(signer.public_key()))
    active = load_active_catalog(profile, NOW)
    assert (active.origin, active.version) == ("current", 4)


def test_no_key_with_a_known_private_half_is_shipped() -> None:
    shipped = bundles.resources_dir() / KEYS_DIR
    for path in shipped.iterdir():
        assert b"PRIVATE" not in path.read_bytes(), path.name


def test_bundle_version_reads_without_keys(tmp_path: Path, signer: Ed25519PrivateKey) -> None:
    path = tmp_path / "catalog.bundle"
    assert bundle_version(path) is None
    path.write_bytes(_sign(signer, 7))
    assert bundle_version(path) == 7
    path.write_bytes(b"garbage")
    assert bundle_version(path) is None


# -- fuzzing (acceptance test 20: a clear error, never a crash) -------------------------------


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_random_bytes_are_refused_clearly(keys: dict[str, Any], data: bytes) -> None:
    with pytest.raises(CatalogError):
        verify_bundle(data, keys, now=NOW)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3),
    max_leaves=8)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(["format", "version", "issuedAt", "expiresAt", "keyId", "files",
                             "sha256", "signature", "other"]),
       value=JSON_VALUES, resign=st.booleans())
def test_any_field_set_to_anything_is_refused_clearly(
        signer: Ed25519PrivateKey, keys: dict[str, Any], name: str, value: Any,
        resign: bool) -> None:
    data = _sign(signer, 5)
    change: Callable[[dict[str, Any]], None] = lambda d: d.update({name: value})  # noqa: E731
    changed = _resign(data, signer, change) if resign and name != "signature" else _edit(
        data, change)
    try:
        verified = verify_bundle(changed, keys, now=NOW)
    except CatalogError:
        return
    # Accepted only when nothing that matters changed (the same value written again).
    assert verified.bundle.content_sha256 == read_bundle(data, keys).content_sha256
