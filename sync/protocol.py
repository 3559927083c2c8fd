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
    FORBIDDEN = "E1007"  # the caller's scopes do not include this call
    UNAUTHENTICATED = "E1008"  # missing, expired or unknown bearer token
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
    # Hex only: a NUL here was a 500 on PostgreSQL, which refuses NUL in text columns.
    audit_head: str | None = Field(default=None, max_length=128, pattern=r"^[0-9a-f]*$")


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
    """The ``_links`` object of the standard envelope; ``next`` continues a feed page."""

    self_: Link = Field(validation_alias="self", serialization_alias="self")
    next: Link | None = None


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


# ---------------------------------------------------------------------------------------------
# The rest of the profile (issue 5): tokens, meta, status lifecycle, feeds, handoffs, registry.
# ---------------------------------------------------------------------------------------------

TOKEN_PATH = "/oauth2/token"  # noqa: S105 - a URL path, not a password
"""Client-credentials token endpoint (OAuth 2.0, form-encoded, HTTP Basic or form secrets)."""

ACCESS_TOKEN_TTL_SECONDS = 300
"""Lifetime of a bearer token: short, no refresh token (the standard's rule)."""

HANDOFF_TTL_SECONDS = 24 * 3600
"""How long a kiosk/desk pre-fill waits at the gateway for a counter to pick it up."""

FEED_PAGE_LIMIT = 100
"""Default and maximum page size of the status feed and the outbound feed."""

ClientId = Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{32}$")]
# The alphabet of desk.ids.new_reference_code: no 0/1/I/L/O/U, which people misread.
_CODE_CHAR = "[2-9A-HJKMNP-TV-Z]"
ReferenceCode = Annotated[
    str, StringConstraints(pattern=rf"^{_CODE_CHAR}{{4}}-?{_CODE_CHAR}{{4}}$")
]


class ApplicationStatusCode(StrEnum):
    """The lifecycle of an application at the gateway (``linkage-api.md``)."""

    RECEIVED = "RECEIVED"  # 受付
    FORWARDED = "FORWARDED"  # 連携済
    IN_REVIEW = "IN_REVIEW"  # 処理中
    NEEDS_CORRECTION = "NEEDS_CORRECTION"  # 要訂正
    COMPLETED = "COMPLETED"  # 完了
    REJECTED = "REJECTED"  # 却下
    WITHDRAWN = "WITHDRAWN"  # 取下げ
    ERROR = "ERROR"  # 受付エラー
    EXPIRED = "EXPIRED"  # 閲覧期間外


S = ApplicationStatusCode
ALLOWED_TRANSITIONS: dict[ApplicationStatusCode, frozenset[ApplicationStatusCode]] = {
    S.RECEIVED: frozenset({S.FORWARDED, S.ERROR, S.WITHDRAWN}),
    S.FORWARDED: frozenset({S.IN_REVIEW, S.ERROR, S.WITHDRAWN}),
    S.IN_REVIEW: frozenset({S.NEEDS_CORRECTION, S.COMPLETED, S.REJECTED, S.WITHDRAWN}),
    S.NEEDS_CORRECTION: frozenset({S.IN_REVIEW, S.WITHDRAWN, S.REJECTED}),
    S.COMPLETED: frozenset({S.EXPIRED}),
    S.REJECTED: frozenset({S.EXPIRED}),
    S.WITHDRAWN: frozenset({S.EXPIRED}),
    S.ERROR: frozenset({S.EXPIRED}),
    S.EXPIRED: frozenset(),
}
"""Which status may follow which; anything else is ``E1010``. Withdraw is allowed until a
decision is made. Every change raises the application's ``version`` by one."""
del S


class Scope(StrEnum):
    """Scopes in the standard's ``${業務ID}:${APIコール名}:${操作種類}`` form."""

    META_READ = "madoguchi:meta:read"
    CATALOG_READ = "madoguchi:catalog:read"
    APPLICATIONS_WRITE = "madoguchi:applications:write"  # submit, withdraw
    APPLICATIONS_READ = "madoguchi:applications:read"  # own applications, status feed
    HANDOFFS_WRITE = "madoguchi:handoffs:write"
    HANDOFFS_READ = "madoguchi:handoffs:read"  # counter staff only
    RESIDENTS_READ = "madoguchi:residents:read"  # counter staff only
    OUTBOUND_READ = "madoguchi:outbound:read"  # 申請管理 (back office) only
    STATUS_WRITE = "madoguchi:status:write"  # 申請管理 (back office) only


GATEWAY_CLIENT_MODES = ("kiosk", "desk", "counter", "backoffice")
"""Kinds of registered caller; ``backoffice`` is the 申請管理 system pulling applications."""

SCOPES_BY_MODE: dict[str, frozenset[Scope]] = {
    "kiosk": frozenset({Scope.META_READ, Scope.CATALOG_READ, Scope.APPLICATIONS_WRITE,
                        Scope.APPLICATIONS_READ, Scope.HANDOFFS_WRITE}),
    "desk": frozenset({Scope.META_READ, Scope.CATALOG_READ, Scope.APPLICATIONS_WRITE,
                       Scope.APPLICATIONS_READ, Scope.HANDOFFS_WRITE}),
    "counter": frozenset({Scope.META_READ, Scope.CATALOG_READ, Scope.APPLICATIONS_WRITE,
                          Scope.APPLICATIONS_READ, Scope.HANDOFFS_WRITE, Scope.HANDOFFS_READ,
                          Scope.RESIDENTS_READ}),
    "backoffice": frozenset({Scope.META_READ, Scope.OUTBOUND_READ, Scope.STATUS_WRITE,
                             Scope.APPLICATIONS_READ}),
}
"""What each kind of caller may do. Authorization is per calling system, not per person."""


class TokenResponse(_ResponseModel):
    """OAuth 2.0 token response (RFC 6749 §5.1: snake_case, not the envelope)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    access_token: str
    token_type: str
    expires_in: int
    scope: str = ""


class DeviceCredentials(_ResponseModel):
    """What ``madoguchi gateway add-device`` prints: a device's client credentials."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    client_id: ClientId
    # repr=False: a credentials object printed in a log or traceback never shows the secret.
    client_secret: str = Field(min_length=32, max_length=128, repr=False)
    device_id: str = Field(min_length=1, max_length=64)
    tenant_code: LocalGovernmentCode
    mode: Literal["kiosk", "desk", "counter", "backoffice"]


class Meta(_ResponseModel):
    """``GET /meta``: server time, what the gateway supports, and who the caller is."""

    server_time: AwareDatetime
    tenant_code: str
    device_id: str
    mode: str
    schema_versions: list[str]
    data_list_edition: str
    catalog_version: int | None = None


class StatusEvent(_ResponseModel):
    """One step of an application's history."""

    status: str
    version: int
    at: AwareDatetime
    reason_code: str | None = None


class ApplicationStatus(_ResponseModel):
    """``GET /applications/{id}`` and feed entries: the current status with its version.

    ``seq`` is the entry's position in the tenant's change feed; the client keeps the highest
    one it has seen as its cursor. ``version`` rises by one with each status change, so a
    client that sees an older version than it holds ignores it.
    """

    application_id: str
    uketsuke_bango: str
    received_at: AwareDatetime
    status: str
    version: int
    updated_at: AwareDatetime
    seq: int
    history: list[StatusEvent] = Field(default_factory=list)


class WithdrawRequest(_RequestModel):
    """``POST /applications/{id}/withdraw`` body (may be empty ``{}``)."""

    reason_code: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,32}$")


class StatusReport(_RequestModel):
    """``POST /applications/{id}/status`` from 申請管理: move an application on.

    ``version`` is the version the reporter last saw; a different current version is ``E1010``
    (someone else moved it first), so two reporters can never silently overwrite each other.
    """

    status: ApplicationStatusCode
    version: int = Field(ge=1)
    reason_code: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,32}$")


class OutboundApplication(_ResponseModel):
    """``GET /outbound`` entry: a received application with its full content, for 申請管理."""

    application_id: str
    uketsuke_bango: str
    received_at: AwareDatetime
    status: str
    version: int
    seq: int
    device_id: str
    payload: dict[str, Any]


class HandoffRequest(_RequestModel):
    """``POST /handoffs``: a kiosk or desk draft's answers, to be picked up at a counter."""

    reference_code: ReferenceCode
    draft_id: ApplicationId
    procedure_ids: list[str] = Field(min_length=1, max_length=50)
    answers: dict[ItemId, Any]


class Handoff(_ResponseModel):
    """``GET /handoffs/{code}`` (counter only): the pre-fill, until it expires."""

    reference_code: str
    draft_id: str
    device_id: str
    channel: str
    procedure_ids: list[str]
    answers: dict[str, Any]
    created_at: AwareDatetime
    expires_at: AwareDatetime


class HandoffReceipt(_ResponseModel):
    """``POST /handoffs`` result."""

    reference_code: str
    expires_at: AwareDatetime


class ResidentQuery(BaseModel):
    """``POST /residents/match`` body: 基本４情報 by their 基本データリスト romaji names.

    Birth date plus the name (kanji or furigana) are required; a lookup never lists a
    registry, it only confirms candidates for one person.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    shimei: str | None = Field(default=None, min_length=1, max_length=100)
    shimei_furigana: str | None = Field(default=None, min_length=1, max_length=100)
    seinengappi: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
    seibetsu: str | None = Field(default=None, pattern=r"^[0-9]$")
    jusho_yubinbango: str | None = Field(default=None, pattern=r"^[0-9]{7}$")


class ResidentCandidate(BaseModel):
    """One registry match, as pre-fill for the counter; romaji item names as in ``data``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    shimei: str
    shimei_furigana: str
    seinengappi: str
    seibetsu: str
    jusho_yubinbango: str
    jusho: str
    jusho_choazakodo: str | None = None
