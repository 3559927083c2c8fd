"""Caller authentication: client credentials → short-lived bearer tokens, scopes per route.

Everything lives in the database (devices, hashed tokens), so any worker accepts a token any
other worker issued, and disabling a device stops its tokens at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl, unquote_plus

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sync.gateway.context import GatewayContext
from sync.gateway.documentation import TOKEN_ANSWERS
from sync.gateway.envelope import FORBIDDEN, UNAUTHENTICATED, EnvelopeError, api_error
from sync.gateway.models import AccessToken, Device
from sync.protocol import SCOPES_BY_MODE, TOKEN_PATH, ErrorCode, Scope, TokenResponse

CLIENT_ID_LENGTH = 32
_CLIENT_ID_ALPHABET = string.ascii_letters + string.digits
_MAX_FORM_BYTES = 4096
_FORM_TYPE = "application/x-www-form-urlencoded"
# RFC 6749 §5.1: token responses must not be cached anywhere.
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="madoguchi"'}
_SECRET_DOMAIN = b"madoguchi-client-secret\x00"

_bearer = HTTPBearer(auto_error=False, scheme_name="bearer",
                     description="POST /oauth2/token で取得したアクセストークン")


@dataclass(frozen=True)
class Caller:
    """The authenticated caller of one request: a registered device or system, not a person.

    Attributes:
        client_id: The OAuth client id (32 characters ``[0-9A-Za-z]``).
        tenant_code: The municipality the device belongs to; every query filters by it.
        device_id: The device id, as it appears in ``metadata.deviceId``.
        mode: ``kiosk``, ``desk``, ``counter`` or ``backoffice``.
        privileged: Registered for privileged staff paths (e.g. DV 支援措置 records).
        scopes: What this token may do.
    """

    client_id: str
    tenant_code: str
    device_id: str
    mode: str
    privileged: bool
    scopes: frozenset[Scope]


def new_client_id() -> str:
    """A fresh client id: 32 random characters of ``[0-9A-Za-z]`` (the standard's form)."""
    return "".join(secrets.choice(_CLIENT_ID_ALPHABET) for _ in range(CLIENT_ID_LENGTH))


def new_secret() -> str:
    """A fresh client secret or access token: 256 random bits, URL-safe base64 (43 chars)."""
    return secrets.token_urlsafe(32)


def new_salt() -> str:
    """A per-device salt for the secret digest (128 bits, hex)."""
    return secrets.token_hex(16)


def secret_digest(salt: str, secret: str) -> str:
    """The stored form of a client secret: salted, domain-separated SHA-256.

    A slow KDF (scrypt, Argon2) protects guessable secrets such as passwords. Client secrets
    here are 256 random bits from ``secrets``; nobody can guess one however fast the hash is,
    so one SHA-256 is enough, and it keeps every token request cheap.
    """
    data = _SECRET_DOMAIN + salt.encode("ascii") + b"\x00" + secret.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def token_digest(token: str) -> str:
    """The stored form of an access token (256 random bits, so a plain SHA-256 suffices)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _scopes_text(scopes: frozenset[Scope]) -> str:
    return " ".join(sorted(scope.value for scope in scopes))


def _parse_scopes(text: str) -> frozenset[Scope]:
    known = {scope.value: scope for scope in Scope}
    return frozenset(known[name] for name in text.split() if name in known)


# -- Using a token --------------------------------------------------------------------------


def _unauthenticated(invalid: bool) -> EnvelopeError:
    # RFC 6750 §3: the challenge says error="invalid_token" only when a token was presented.
    challenge = 'Bearer realm="madoguchi"' + (', error="invalid_token"' if invalid else "")
    return EnvelopeError(
        401,
        detail=UNAUTHENTICATED,
        errors=[api_error(ErrorCode.UNAUTHENTICATED, "Authorization")],
        headers={"WWW-Authenticate": challenge},
    )


def authenticate(context: GatewayContext, token: str | None) -> Caller:
    """Resolve a bearer token to its caller.

    Args:
        context: The gateway context.
        token: The token from ``Authorization: Bearer``; None when absent.

    Returns:
        The caller, with the token's scopes limited to what the device's mode allows now.

    Raises:
        EnvelopeError: 401 (``E1008``) for a missing, unknown or expired token or a disabled device.
    """
    if not token:
        raise _unauthenticated(invalid=False)
    now = context.clock()
    with Session(context.read_engine) as session, session.begin():
        row = session.execute(
            select(AccessToken, Device)
            .join(Device, Device.client_id == AccessToken.client_id)
            .where(AccessToken.token_sha256 == token_digest(token))
        ).one_or_none()
        if row is None:
            raise _unauthenticated(invalid=True)
        issued, device = row
        if issued.expires_at <= now or device.disabled:
            raise _unauthenticated(invalid=True)
        allowed = SCOPES_BY_MODE.get(device.mode, frozenset())
        return Caller(
            client_id=device.client_id,
            tenant_code=device.tenant_code,
            device_id=device.device_id,
            mode=device.mode,
            privileged=device.privileged,
            scopes=_parse_scopes(issued.scopes) & allowed,
        )


def requires(scope: Scope) -> Any:
    """A FastAPI dependency giving the authenticated caller, who must hold ``scope``.

    Use as ``caller: Annotated[Caller, requires(Scope.HANDOFFS_READ)]``. The context is the
    one ``create_app`` put in ``app.state.context``.

    Args:
        scope: The scope the route needs.

    Returns:
        The dependency marker (``Depends``).
    """

    def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Caller:
        context: GatewayContext = request.app.state.context
        caller = authenticate(context, credentials.credentials if credentials else None)
        if scope not in caller.scopes:
            raise EnvelopeError(
                403,
                detail=FORBIDDEN,
                errors=[api_error(ErrorCode.FORBIDDEN)],
                headers={
                    "WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'
                },
            )
        return caller

    return Depends(dependency)


# -- Issuing a token ------------------------------------------------------------------------


class _OAuthError(Exception):
    """An RFC 6749 §5.2 error answer."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


def _form(body: bytes) -> dict[str, str]:
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _OAuthError(400, "invalid_request") from exc
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:  # RFC 6749 §3.2: parameters must not be repeated
            raise _OAuthError(400, "invalid_request")
        form[name] = value
    return form


def _basic(header: str | None) -> tuple[str, str] | None:
    if not header:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        raise _OAuthError(401, "invalid_client")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise _OAuthError(401, "invalid_client") from exc
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise _OAuthError(401, "invalid_client")
    # RFC 6749 §2.3.1: both parts are form-encoded before they are joined.
    return unquote_plus(client_id), unquote_plus(secret)


def _client_credentials(form: dict[str, str], authorization: str | None) -> tuple[str, str]:
    basic = _basic(authorization)
    in_form = "client_secret" in form
    if basic is not None:
        if in_form:  # RFC 6749 §2.3: one authentication method per request
            raise _OAuthError(400, "invalid_request")
        return basic
    if not in_form or not form.get("client_id"):
        raise _OAuthError(401, "invalid_client")
    return form["client_id"], form["client_secret"]


def issue_token(
    context: GatewayContext, client_id: str, client_secret: str, scope: str | None = None
) -> TokenResponse:
    """Check client credentials and issue a bearer token, stored by its digest only.

    Args:
        context: The gateway context.
        client_id: The client id.
        client_secret: The client secret.
        scope: Space-separated scopes asked for; None or empty for all the mode allows.

    Returns:
        The token response.

    Raises:
        _OAuthError: ``invalid_client`` (unknown, wrong secret, disabled) or ``invalid_scope``.
    """
    now = context.clock()
    token = new_secret()
    ttl = context.settings.token_ttl_s
    with Session(context.engine) as session, session.begin():
        device = session.get(Device, client_id) if len(client_id) == CLIENT_ID_LENGTH else None
        expected = device.secret_sha256 if device is not None else "0" * 64
        given = secret_digest(device.secret_salt if device is not None else "", client_secret)
        if not hmac.compare_digest(expected, given) or device is None or device.disabled:
            raise _OAuthError(401, "invalid_client")
        allowed = SCOPES_BY_MODE.get(device.mode, frozenset())
        granted = allowed
        if scope and scope.strip():
            names = set(scope.split())
            if not names <= {s.value for s in allowed}:
                raise _OAuthError(400, "invalid_scope")
            granted = frozenset(s for s in allowed if s.value in names)
        # Expired tokens are useless; clearing this client's here keeps the table small
        # without a job, and never makes two clients' requests wait on each other's rows.
        session.execute(
            delete(AccessToken).where(
                AccessToken.client_id == device.client_id, AccessToken.expires_at <= now
            )
        )
        session.add(
            AccessToken(
                token_sha256=token_digest(token),
                client_id=device.client_id,
                tenant_code=device.tenant_code,
                device_id=device.device_id,
                scopes=_scopes_text(granted),
                expires_at=now + timedelta(seconds=ttl),
            )
        )
    return TokenResponse(
        access_token=token,
        token_type="Bearer",  # noqa: S106 - the RFC 6750 token type, not a secret
        expires_in=ttl,
        scope=_scopes_text(granted),
    )


def build_router(context: GatewayContext) -> APIRouter:
    """The token endpoint ``POST /oauth2/token`` (client credentials grant only)."""
    router = APIRouter()

    @router.post(TOKEN_PATH, tags=["oauth2"], summary="アクセストークンの発行",
                 responses=TOKEN_ANSWERS)
    async def token(request: Request) -> Response:
        try:
            content_type = request.headers.get("content-type", "").split(";")[0].strip()
            if content_type.lower() != _FORM_TYPE:
                raise _OAuthError(400, "invalid_request")
            body = await request.body()
            if len(body) > _MAX_FORM_BYTES:
                raise _OAuthError(400, "invalid_request")
            form = _form(body)
            grant = form.get("grant_type")
            if not grant:
                raise _OAuthError(400, "invalid_request")
            if grant != "client_credentials":
                raise _OAuthError(400, "unsupported_grant_type")
            client_id, secret = _client_credentials(form, request.headers.get("authorization"))
            issued = await run_in_threadpool(
                issue_token, context, client_id, secret, form.get("scope")
            )
        except _OAuthError as exc:
            headers = dict(_NO_STORE)
            if exc.status == 401:
                headers.update(_BASIC_CHALLENGE)
            return JSONResponse({"error": exc.error}, status_code=exc.status, headers=headers)
        return Response(
            content=issued.model_dump_json(),
            media_type="application/json",
            headers=_NO_STORE,
        )

    return router
