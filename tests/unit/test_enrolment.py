"""Enrolment: tenant codes, gateway URLs, and a retry after an interrupted enrolment."""

from __future__ import annotations

from pathlib import Path

import pytest

from desk.config import STORE_FILE, DeviceConfig
from desk.enrolment import (
    EnrolmentError,
    Registration,
    check_gateway_url,
    enroll,
    valid_tenant_code,
)
from desk.errors import KeyUnavailableError
from desk.store.drafts import DraftStore
from desk.store.keys import PassphraseKeyStore

PASSPHRASE = "madoguchi-test-passphrase"


@pytest.mark.parametrize("code", ["131016", "011002", "271004", "472018"])
def test_real_local_government_codes_are_valid(code: str) -> None:
    assert valid_tenant_code(code)  # 千代田区, 札幌市, 大阪市, 那覇市


@pytest.mark.parametrize("code", ["131017", "13101", "1310160", "１３１０１６", "abcdef"])
def test_wrong_codes_are_refused(code: str) -> None:
    assert not valid_tenant_code(code)


@pytest.mark.parametrize(("url", "ok"), [
    ("https://gateway.example.lg.jp/", True), ("http://127.0.0.1:8765", True),
    ("http://gateway.example.lg.jp", False), ("ftp://127.0.0.1", False), ("https://", False),
])
def test_gateway_urls(url: str, ok: bool) -> None:
    if ok:
        assert check_gateway_url(url) == url.rstrip("/")
    else:
        with pytest.raises(EnrolmentError):
            check_gateway_url(url)


def test_enrolment_writes_config_last_and_logs_it(tmp_path: Path) -> None:
    device = enroll(tmp_path, mode="desk", tenant_code="131016", key_store="passphrase",
                    passphrase=PASSPHRASE, desk_id="desk-7")
    assert DeviceConfig.load(tmp_path) == device
    store = DraftStore(tmp_path / STORE_FILE, PassphraseKeyStore(tmp_path, PASSPHRASE))
    try:
        entries = store.audit_log().entries()
    finally:
        store.close()
    assert [(e.action, e.subject) for e in entries] == [("device.enrolled", device.device_id)]


def test_short_passphrase_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(EnrolmentError):
        enroll(tmp_path, mode="desk", tenant_code="131016", key_store="passphrase",
               passphrase="short")
    assert list(tmp_path.iterdir()) == []


def test_interrupted_enrolment_can_be_run_again(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(_config: DeviceConfig, _profile: Path) -> None:
        raise RuntimeError("power cut before the configuration was written")

    with monkeypatch.context() as patch:
        patch.setattr(DeviceConfig, "save", crash)
        with pytest.raises(RuntimeError):
            enroll(tmp_path, mode="kiosk", tenant_code="131016", key_store="passphrase",
                   passphrase=PASSPHRASE)
    assert (tmp_path / STORE_FILE).exists()  # the key and the store were made
    device = enroll(tmp_path, mode="kiosk", tenant_code="131016", key_store="passphrase",
                    passphrase=PASSPHRASE)
    assert DeviceConfig.load(tmp_path) == device


def test_existing_key_guarding_drafts_is_never_reused_or_replaced(tmp_path: Path) -> None:
    keys = PassphraseKeyStore(tmp_path, PASSPHRASE)
    keys.provision()
    store = DraftStore(tmp_path / STORE_FILE, keys)
    store.create(["juminhyo-utsushi"], mode="kiosk", desk_id="lobby", position="a")
    store.close()
    with pytest.raises(KeyUnavailableError):
        enroll(tmp_path, mode="kiosk", tenant_code="131016", key_store="passphrase",
               passphrase=PASSPHRASE)


def test_a_refused_registration_writes_nothing(tmp_path: Path) -> None:
    seen: list[DeviceConfig] = []

    def refuse(config: DeviceConfig) -> None:
        seen.append(config)
        raise EnrolmentError("enrol.gateway_tenant", tenant=config.tenant_code)

    registration = Registration(device_id="KIOSK-7", client_id="c" * 32,
                                client_secret=b"s" * 43)
    with pytest.raises(EnrolmentError) as refused:
        enroll(tmp_path / "p", mode="kiosk", tenant_code="131016", key_store="passphrase",
               passphrase=PASSPHRASE, gateway_url="https://gateway.example.lg.jp",
               registration=registration, register=refuse)
    assert refused.value.message_id == "enrol.gateway_tenant"
    assert not (tmp_path / "p").exists()
    (config,) = seen  # checked with the ids the configuration would get
    assert (config.device_id, config.client_id, config.desk_id) == ("KIOSK-7", "c" * 32,
                                                                    "kiosk-7")
    assert "s" * 43 not in repr(registration)
