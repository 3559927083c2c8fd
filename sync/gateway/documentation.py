"""What each route answers, for the OpenAPI document: typed envelopes and the error answers.

Routes build their responses themselves (stored receipts are replayed byte for byte), so FastAPI
cannot see their shapes; ``answers()`` describes them in ``responses=`` so the committed
document, and schemathesis checking the gateway against it, know the real bodies.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from sync.gateway.envelope import TITLES
from sync.protocol import (
    ApplicationStatus,
    ErrorEnvelope,
    Handoff,
    HandoffReceipt,
    Meta,
    OutboundApplication,
    Receipt,
    ResidentCandidate,
    SuccessEnvelope,
    TokenResponse,
)


class ReceiptEnvelope(SuccessEnvelope):
    """``POST /applications``: the receipt (受付番号 and server time)."""

    result: list[Receipt]


class StatusEnvelope(SuccessEnvelope):
    """Application statuses with their versions and history (one, or a feed page)."""

    result: list[ApplicationStatus]


class OutboundEnvelope(SuccessEnvelope):
    """``GET /outbound``: received applications with their content, for 申請管理."""

    result: list[OutboundApplication]


class MetaEnvelope(SuccessEnvelope):
    """``GET /meta``: server time, supported versions, who the caller is."""

    result: list[Meta]


class HandoffReceiptEnvelope(SuccessEnvelope):
    """``POST /handoffs``: the stored 整理番号 and its expiry."""

    result: list[HandoffReceipt]


class HandoffEnvelope(SuccessEnvelope):
    """``GET /handoffs/{code}``: the pre-fill."""

    result: list[Handoff]


class CandidateEnvelope(SuccessEnvelope):
    """``POST /residents/match``: candidates (empty when nobody, or nobody disclosable)."""

    result: list[ResidentCandidate]


class OAuthError(BaseModel):
    """RFC 6749 §5.2 error answer of the token endpoint."""

    model_config = ConfigDict(frozen=True)

    error: Literal["invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
                   "unsupported_grant_type", "invalid_scope"]


_OTHER_ERRORS = "その他のエラー（標準エラー形式）"


def answers(success: dict[int, type[BaseModel]], *errors: int) -> dict[int | str, Any]:
    """The ``responses=`` of a route: its success bodies, listed errors and the rest.

    Every error the gateway sends is the standard error envelope, so a ``default`` entry
    covers the statuses a route does not list (405, 413, 500, ...). It also keeps FastAPI
    from documenting a 422 this gateway never sends (validation failures are 400).

    Args:
        success: Status → envelope model of each success answer.
        errors: The error statuses the route itself gives (400, 401, 403, 404, 409, ...).

    Returns:
        The mapping for the route decorator.
    """
    documented: dict[int | str, Any] = {
        status: {"model": model, "description": model.__doc__.splitlines()[0]
                 if model.__doc__ else "OK"}
        for status, model in success.items()
    }
    for status in errors:
        documented[status] = {"model": ErrorEnvelope, "description": TITLES.get(status, "エラー")}
    documented["default"] = {"model": ErrorEnvelope, "description": _OTHER_ERRORS}
    return documented


TOKEN_ANSWERS: dict[int | str, Any] = {
    200: {"model": TokenResponse, "description": "アクセストークン（RFC 6749 §5.1）"},
    400: {"model": OAuthError, "description": "要求の誤り（RFC 6749 §5.2）"},
    401: {"model": OAuthError, "description": "クライアント認証の失敗（RFC 6749 §5.2）"},
    "default": {"model": ErrorEnvelope, "description": _OTHER_ERRORS},
}
"""The token endpoint's errors: RFC 6749 JSON, not the envelope."""

CATALOG_ANSWERS: dict[int | str, Any] = {
    200: {"description": "署名付きカタログ（ETag 付き）",
          "content": {"application/json": {"schema": {"type": "object"}}}},
    304: {"description": "If-None-Match の ETag から変更なし（本文なし）"},
    401: {"model": ErrorEnvelope, "description": TITLES[401]},
    403: {"model": ErrorEnvelope, "description": TITLES[403]},
    404: {"model": ErrorEnvelope, "description": "カタログが配置されていません"},
    "default": {"model": ErrorEnvelope, "description": _OTHER_ERRORS},
}
"""The catalog bundle is served as it was signed; the device verifies it."""
