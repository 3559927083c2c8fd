"""Wire models of the linkage API (payload, receipt, standard envelopes), shared by both ends."""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

SCHEMA_VERSION = "madoguchi-app/1"
"""The payload schema this client writes."""

SUPPORTED_SCHEMA_VERSIONS: frozenset[str] = frozenset({SCHEMA_VERSION})
"""Schema versions the reference gateway accepts; anything else is ``E1001``."""

DATA_LIST_EDITION = "2023-09"
"""The 基本データリスト edition whose romaji item names the payload uses."""

API_PREFIX = "/madoguchi/v1"
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"

# A ULID's first character is at most 7: 26 base32 digits hold 130 bits but a ULID has 128.
ApplicationId = Annotated[str, StringConstraints(pattern=r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")]
# [0-9], not \d: the regex engine's \d also matches full-width and other Unicode digits.
LocalGovernmentCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
# 基本データリスト item ids are lower-case romaji; app-specific items are prefixed ``x_``.
ItemId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class ErrorCode(StrEnum):
    """Error codes of the standard (E000x) and of this project's profile (E10xx)."""

    REQUIRED = "E0001"
    CHARACTER_TYPE = "E0002"
    LENGTH = "E0003"
    CROSS_FIELD = "E0004"
    UNSUPPORTED_SCHEMA_VERSION = "E1001"
    UNKNOWN_PROCEDURE = "E1002"
    ATTACHMENT_DIGEST_MISMATCH = "E1003"
    INVALID_DATE = "E1004"
    INVALID_CHECK_DIGIT = "E1005"
    PROCEDURE_NOT_OFFERED = "E1006"
    IDEMPOTENCY_CONFLICT = "E1009"
    STATUS_CHANGE_NOT_ALLOWED = "E1010"


# Explicit aliases are given as validation_alias + serialization_alias rather than alias: type
# checkers read ``alias`` as the constructor's keyword, which would make ``Links(self_=...)``
# unwritable without the pydantic mypy plugin.


class _RequestModel(BaseModel):
    """Models the gateway validates: camelCase on the wire, unknown fields refused."""

    # Unknown fields are refused so that a misspelt field fails loudly instead of being dropped
    # (and silently left out of the digest); new fields come with a new schemaVersion.
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class _ResponseModel(BaseModel):
    """Models the client reads: camelCase on the wire, unknown fields tolerated."""

    # Tolerant reading lets the gateway add fields without breaking deployed devices.
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )


class ApplicationMetadata(_RequestModel):
    """Who sent an application, from where and under which schema."""

    application_id: ApplicationId
    schema_version: str = Field(default=SCHEMA_VERSION, min_length=1, max_length=64)
    data_list_edition: str = Field(default=DATA_LIST_EDITION, min_length=1, max_length=16)
    shikuchosonkodo: LocalGovernmentCode
    device_id: str = Field(min_length=1, max_length=64)
    channel: Literal["kiosk", "desk", "counter"]
    sosashaid: str | None = Field(default=None, min_length=1, max_length=64)
    captured_at: AwareDatetime
    audit_head: str | None = Field(default=None, max_length=128)


class ProcedureData(_RequestModel):
    """One procedure of a visit and its answers, keyed by 基本データリスト romaji item id."""

    procedure_id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    form_version: str = Field(min_length=1, max_length=16)
    data: dict[ItemId, Any]


class Attachment(_RequestModel):
    """A reference to a file sent alongside the application (content travels separately)."""

    id: str = Field(min_length=1, max_length=64)
    kind: str = Field(min_length=1, max_length=64)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    # "bytes" on the wire; a different Python name so the builtin is not shadowed.
    size_bytes: int = Field(validation_alias="bytes", serialization_alias="bytes", ge=0)


class Consent(_RequestModel):
    """The purpose the applicant agreed to, and when."""

    purpose: str = Field(min_length=1, max_length=500)
    agreed_at: AwareDatetime


class ApplicationPayload(_RequestModel):
    """One application: every procedure of one visit, submitted as a single idempotent unit."""

    metadata: ApplicationMetadata
    procedures: list[ProcedureData] = Field(min_length=1)
    attachments: list[Attachment] = Field(default_factory=list)
    consent: Consent | None = None


class Receipt(_ResponseModel):
    """The gateway's acknowledgement: 受付番号 and server time. An item is done only with this."""

    application_id: str
    uketsuke_bango: str
    received_at: AwareDatetime
    status: str = "RECEIVED"


class ApiError(_ResponseModel):
    """One entry of the standard error envelope; ``field`` is a JSON pointer or a header name."""

    code: str
    message: str
    field: str | None = None


class Link(_ResponseModel):
    """A hypermedia link of the standard envelope."""

    href: str


class Links(_ResponseModel):
    """The ``_links`` object of the standard envelope."""

    self_: Link = Field(validation_alias="self", serialization_alias="self")


class EnvelopeMetadata(_ResponseModel):
    """The ``metadata`` object of the standard success envelope."""

    title: str
    detail: str


class SuccessEnvelope(_ResponseModel):
    """The standard success envelope: ``{metadata, _links, result: [...]}``."""

    metadata: EnvelopeMetadata
    links: Links = Field(validation_alias="_links", serialization_alias="_links")
    result: list[Any]


class ErrorEnvelope(_ResponseModel):
    """The standard error envelope: ``{title, detail, _links, errors: [...]}``."""

    title: str
    detail: str
    links: Links = Field(validation_alias="_links", serialization_alias="_links")
    errors: list[ApiError] = Field(default_factory=list)


def canonical_json(value: Any) -> bytes:
    """Serialise JSON-compatible data in the one canonical form both ends hash.

    Args:
        value: Data made of dicts, lists, strings, numbers, booleans and None.

    Returns:
        UTF-8 bytes with sorted keys, no whitespace and non-ASCII characters kept as they are
        (no NFC/NFKC or escaping, so IVS selectors and private-use characters survive exactly).
    """
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def payload_digest(payload: ApplicationPayload) -> str:
    """Return the hex SHA-256 of a payload's canonical JSON.

    Both ends hash the validated model rather than raw request bytes, so key order and
    whitespace in transit never turn a retry into an ``E1009`` conflict.

    Args:
        payload: The application as sent by the client or parsed by the gateway.

    Returns:
        64 lower-case hex characters.
    """
    wire = payload.model_dump(mode="json", by_alias=True)
    return hashlib.sha256(canonical_json(wire)).hexdigest()
