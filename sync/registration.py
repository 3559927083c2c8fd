"""The device's identity at the gateway: credentials files, the check at enrolment, the client.

`madoguchi gateway add-device` prints a device's credentials as JSON; enrolment (or
`madoguchi sync register`) checks them against the gateway's ``/meta`` before keeping them,
and the secret is sealed in the store under the device key. Everything that talks to the
gateway builds its client here, from the device configuration and that sealed secret.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import httpx
from pydantic import ValidationError
from sqlalchemy import Engine

from desk.config import DeviceConfig
from desk.enrolment import EnrolmentError, Registration
from desk.store.keys import KeyStore
from desk.store.secrets import GATEWAY_CLIENT_SECRET, load_secret
from sync.client import LinkageClient
from sync.errors import RejectedError, SyncError, TlsError, TransientError
from sync.protocol import DeviceCredentials, Meta


def read_credentials(text: str) -> DeviceCredentials:
    """Parse the JSON `madoguchi gateway add-device` printed.

    Raises:
        EnrolmentError: ``enrol.credentials_invalid`` (the text is never quoted: it holds
            the secret).
    """
    try:
        return DeviceCredentials.model_validate(json.loads(text))
    except (ValueError, ValidationError):
        raise EnrolmentError("enrol.credentials_invalid") from None


def registration_of(credentials: DeviceCredentials) -> Registration:
    """What enrolment keeps of the credentials (desk does not know the wire model)."""
    return Registration(device_id=credentials.device_id, client_id=credentials.client_id,
                        client_secret=credentials.client_secret.encode("utf-8"))


def check_registration(
    config: DeviceConfig, credentials: DeviceCredentials, *, timeout: float = 10.0,
    transport: httpx.BaseTransport | None = None,
) -> Meta:
    """Get a token with the credentials and read ``/meta``: the gateway must agree with
    the enrolment on tenant, mode and device id.

    Args:
        config: The configuration enrolment is about to write (gateway URL, tenant, mode).
        credentials: The credentials from `read_credentials`.
        timeout: Per-request timeout in seconds.
        transport: Replacement transport (tests).

    Returns:
        The gateway's ``/meta`` answer.

    Raises:
        EnrolmentError: ``enrol.gateway_tenant`` / ``enrol.gateway_mode`` (the credentials
            or the gateway name another tenant or mode), ``enrol.gateway_refused`` (the
            gateway refused the credentials), ``enrol.gateway_untrusted`` (TLS),
            ``enrol.gateway_unreachable``, ``enrol.gateway_device``, ``enrol.gateway_needed``.
    """
    if config.gateway_url is None:
        raise EnrolmentError("enrol.gateway_needed")
    # The file says it already: refuse before sending the secret anywhere.
    _same_device(config, credentials.tenant_code, credentials.mode, credentials.device_id)
    with LinkageClient(config.gateway_url, credentials=credentials, timeout=timeout,
                       ca_bundle=Path(config.ca_bundle) if config.ca_bundle else None,
                       transport=transport) as client:
        try:
            meta = client.meta()
        except RejectedError as error:
            raise EnrolmentError("enrol.gateway_refused", status=error.status) from None
        except TlsError:
            raise EnrolmentError("enrol.gateway_untrusted") from None
        except TransientError as error:
            raise EnrolmentError("enrol.gateway_unreachable",
                                 status=error.status or "network") from None
        except SyncError as error:
            raise EnrolmentError("enrol.gateway_unreachable",
                                 status=type(error).__name__) from None
    _same_device(config, meta.tenant_code, meta.mode, meta.device_id)
    return meta


def _same_device(config: DeviceConfig, tenant_code: str, mode: str, device_id: str) -> None:
    if tenant_code != config.tenant_code:
        raise EnrolmentError("enrol.gateway_tenant", tenant=config.tenant_code)
    if mode != config.mode:
        raise EnrolmentError("enrol.gateway_mode", mode=config.mode)
    if device_id != config.device_id:
        raise EnrolmentError("enrol.gateway_device", device=config.device_id)


def stored_credentials(config: DeviceConfig, engine: Engine,
                       keys: KeyStore) -> DeviceCredentials | None:
    """The device's credentials, with the secret opened from the store; None if unregistered."""
    if not config.registered or config.client_id is None:
        return None
    secret = load_secret(engine, keys, GATEWAY_CLIENT_SECRET)
    if secret is None:
        return None
    return DeviceCredentials(client_id=config.client_id, client_secret=secret.decode("utf-8"),
                             device_id=config.device_id, tenant_code=config.tenant_code,
                             mode=config.mode)


def open_client(config: DeviceConfig, engine: Engine, keys: KeyStore, *,
                timeout: float = 10.0,
                transport: httpx.BaseTransport | None = None) -> LinkageClient | None:
    """A client for this device's gateway, or None when sending is off (not registered).

    Args:
        config: The device configuration (gateway URL, client id, CA bundle).
        engine: The store's engine, to open the sealed client secret.
        keys: The device key store.
        timeout: Per-request timeout in seconds.
        transport: Replacement transport (tests).
    """
    credentials = stored_credentials(config, engine, keys)
    if credentials is None or config.gateway_url is None:
        return None
    return LinkageClient(config.gateway_url, credentials=credentials, timeout=timeout,
                         ca_bundle=Path(config.ca_bundle) if config.ca_bundle else None,
                         transport=transport)


def register_at_local_gateway(profile: Path, config: DeviceConfig, keys: KeyStore,
                              gateway_db: str) -> DeviceConfig:
    """Create the device at a gateway whose database is at hand (the demo, screenshots).

    A device whose sealed secret is already in the store keeps it; otherwise the gateway
    issues new credentials (replacing any earlier ones for this device id).

    Args:
        profile: The profile folder (the store file lives in it).
        config: The device configuration; its ``client_id`` is used if the secret is there.
        keys: The device key store.
        gateway_db: The gateway's database URL.

    Returns:
        The configuration with the client id of the credentials in use.
    """
    from desk.config import STORE_FILE
    from desk.enrolment import seal_registration
    from desk.store.drafts import DraftStore
    from sync.gateway.admin import add_device  # the gateway extra: imported only here

    store = DraftStore(profile / STORE_FILE, keys)
    try:
        if stored_credentials(config, store.engine, keys) is not None:
            return config
        credentials = add_device(gateway_db, tenant_code=config.tenant_code, mode=config.mode,
                                 device_id=config.device_id, replace=True)
        seal_registration(store, keys, registration_of(credentials))
    finally:
        store.close()
    return replace(config, client_id=credentials.client_id)
