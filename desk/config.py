"""The device's configuration: mode, tenant, ids and gateway, kept as JSON in the profile folder."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from desk.durable import atomic_write
from desk.errors import DeskError

Mode = Literal["kiosk", "desk", "counter"]
MODES: tuple[Mode, ...] = ("kiosk", "desk", "counter")
KeyStoreKind = Literal["keyring", "passphrase", "demo"]
CONFIG_FILE = "device.json"
STORE_FILE = "drafts.sqlite3"


@dataclass(frozen=True)
class DeviceConfig:
    """What enrolment decided about this device (no secrets: keys live in the key store)."""

    mode: Mode
    tenant_code: str  # 6-digit 地方公共団体コード of the municipality
    device_id: str
    desk_id: str
    gateway_url: str | None = None
    # Where the device key lives (see desk.store.keys.open_key_store); the OS keyring unless
    # enrolment chose a staff passphrase because the machine has no usable keyring.
    key_store: KeyStoreKind = "keyring"
    keyring_backend: str | None = None  # dotted class name: chosen explicitly, never guessed
    # OAuth client id at the gateway (not a secret; the client secret is sealed in the store
    # under the device key). None: not registered yet, so nothing is sent.
    client_id: str | None = None
    # PEM file of the CA that signs the gateway's certificate; None trusts the system CAs.
    ca_bundle: str | None = None

    @property
    def registered(self) -> bool:
        """True when the device has a gateway and a client id (its secret is in the store)."""
        return bool(self.gateway_url and self.client_id)

    def save(self, profile_dir: Path) -> None:
        """Write the configuration atomically (temp file, fsync, replace, folder fsync)."""
        profile_dir.mkdir(parents=True, exist_ok=True)
        text = json.dumps(asdict(self), ensure_ascii=False, indent=2)
        atomic_write(profile_dir / CONFIG_FILE, text.encode("utf-8"))

    @classmethod
    def load(cls, profile_dir: Path) -> DeviceConfig:
        """Read the configuration; DeskError ``config.missing`` if this profile is not enrolled."""
        path = profile_dir / CONFIG_FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls(**raw)
        except FileNotFoundError:
            raise DeskError("config.missing") from None
        except (ValueError, TypeError) as exc:
            raise DeskError("config.invalid") from exc
