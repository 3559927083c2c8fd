"""LinkageClient: end to end against the real gateway, and every answer shape via a scripted
server over real loopback HTTP (tokens, statuses, unreadable bodies, catalog ETags)."""

from __future__ import annotations

import datetime as dt
import logging
import socket
from collections.abc import Callable, Iterator
from email.utils import format_datetime
from pathlib import Path

import pytest

from sync.client import MAX_RETRY_AFTER_S, LinkageClient, parse_retry_after
from sync.errors import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    InvalidResponseError,
    RejectedError,
    SyncError,
    TransientError,
    UnreachableError,
)
from sync.gateway.admin import add_device
from sync.gateway.server import RunningGateway, start_in_thread
from sync.gateway.store import GatewayStore
from sync.protocol import (
    ApplicationPayload,
    DeviceCredentials,
    HandoffRequest,
    ResidentQuery,
)
from tests.sync.scripted_server import (
    FAKE_CREDENTIALS,
    Canned,
    ScriptedServer,
    envelope,
    error_envelope,
    token_response,
)

PayloadFactory = Callable[..., ApplicationPayload]
CANARIES = ("窓口", "太郎", "マドグチ", "1990-04-01", "1000014", "621498320257")


def assert_no_personal_data(error: BaseException) -> None:
    text = str(error) + repr(error)
    for fragment in CANARIES:
        assert fragment not in text


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # free a moment ago; nothing listens on it now


@pytest.fixture
def client(gateway: RunningGateway,
           kiosk_credentials: DeviceCredentials) -> Iterator[LinkageClient]:
    """A LinkageClient with the test kiosk's credentials on the running gateway."""
    with LinkageClient(gateway.url, credentials=kiosk_credentials, timeout=10.0) as linkage:
        yield linkage


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    with ScriptedServer() as server:
        yield server


@pytest.fixture
def sclient(scripted: ScriptedServer) -> Iterator[LinkageClient]:
    """A client of the scripted server (which hands out tokens by itself)."""
    with LinkageClient(scripted.url, credentials=FAKE_CREDENTIALS, timeout=5.0) as linkage:
        yield linkage


# --- against the real gateway ---------------------------------------------------------------


def test_health_needs_no_token(gateway: RunningGateway) -> None:
    with LinkageClient(gateway.url) as linkage:
        assert linkage.health() is True
        assert linkage.token_fetches == 0


def test_health_is_false_when_nothing_listens() -> None:
    with LinkageClient(f"http://127.0.0.1:{closed_port()}", timeout=2.0) as linkage:
        assert linkage.health() is False


def test_submit_returns_receipt_and_reuses_one_token(
    client: LinkageClient, gateway_store: GatewayStore, make_payload: PayloadFactory
) -> None:
    payload = make_payload()

    receipt = client.submit(payload)
    meta = client.meta()
    status = client.get_application(payload.metadata.application_id)

    assert receipt.application_id == payload.metadata.application_id
    assert receipt.status == "RECEIVED"
    assert receipt.received_at.tzinfo is not None
    [stored] = gateway_store.applications()
    assert stored.uketsuke_bango == receipt.uketsuke_bango
    assert stored.payload == payload.model_dump(mode="json", by_alias=True)
    assert (meta.tenant_code, meta.device_id, meta.mode) == ("131016", "KIOSK-TEST", "kiosk")
    assert (status.status, status.version) == ("RECEIVED", 1)
    assert status.uketsuke_bango == receipt.uketsuke_bango
    assert client.token_fetches == 1  # one token for all three calls


def test_resubmitting_is_idempotent(
    client: LinkageClient, gateway_store: GatewayStore, make_payload: PayloadFactory
) -> None:
    payload = make_payload()
    first = client.submit(payload)

    # A retry after an unknown outcome, e.g. the reply was lost: same receipt, no second record.
    again = client.submit(payload)

    assert again == first
    assert len(gateway_store.applications()) == 1


def test_same_id_other_body_raises_conflict(
    client: LinkageClient, gateway_store: GatewayStore, make_payload: PayloadFactory
) -> None:
    payload = make_payload()
    client.submit(payload)
    changed = make_payload(payload.metadata.application_id, shimei="窓口　次郎")

    with pytest.raises(ConflictError) as caught:
        client.submit(changed)

    assert caught.value.status == 409
    assert caught.value.codes == ["E1009"]
    assert caught.value.errors[0].field == "/metadata/applicationId"
    assert_no_personal_data(caught.value)
    assert len(gateway_store.applications()) == 1


def test_unsupported_schema_is_rejected_not_conflict(
    client: LinkageClient, gateway_store: GatewayStore, make_payload: PayloadFactory
) -> None:
    payload = make_payload()
    metadata = payload.metadata.model_copy(update={"schema_version": "madoguchi-app/99"})
    payload = payload.model_copy(update={"metadata": metadata})

    with pytest.raises(RejectedError) as caught:
        client.submit(payload)

    assert type(caught.value) is RejectedError
    assert (caught.value.status, caught.value.codes) == (400, ["E1001"])
    assert_no_personal_data(caught.value)
    assert gateway_store.applications() == []


def test_status_feed_and_withdraw(client: LinkageClient, make_payload: PayloadFactory) -> None:
    first, second = make_payload(), make_payload()
    client.submit(first)
    client.submit(second)

    feed = client.status_feed(None, 100)
    assert [e.application_id for e in feed] == [first.metadata.application_id,
                                                second.metadata.application_id]
    assert client.status_feed(feed[-1].seq, 100) == []

    withdrawn = client.withdraw(first.metadata.application_id, "RESIDENT")
    assert (withdrawn.status, withdrawn.version) == ("WITHDRAWN", 2)
    assert client.withdraw(first.metadata.application_id) == withdrawn  # idempotent
    [moved] = client.status_feed(feed[-1].seq, 100)
    assert (moved.application_id, moved.status) == (first.metadata.application_id, "WITHDRAWN")


def test_get_unknown_application_is_rejected(client: LinkageClient) -> None:
    with pytest.raises(RejectedError) as caught:
        client.get_application("01J00000000000000000000404")
    assert caught.value.status == 404


def test_wrong_secret_is_credentials_refused(
    gateway: RunningGateway, kiosk_credentials: DeviceCredentials, make_payload: PayloadFactory
) -> None:
    wrong = kiosk_credentials.model_copy(update={"client_secret": "x" * 43})
    with LinkageClient(gateway.url, credentials=wrong) as linkage, \
            pytest.raises(AuthenticationError) as caught:
        linkage.submit(make_payload())
    assert (caught.value.status, caught.value.codes) == (401, ["invalid_client"])


def test_token_expired_at_the_gateway_is_refreshed_once(
    tmp_path: Path, make_payload: PayloadFactory
) -> None:
    """The gateway's clock runs ahead of the device's: its 401 gets one fresh token."""
    db_url = f"sqlite:///{tmp_path / 'gateway.db'}"
    server_now = [dt.datetime(2026, 5, 12, 1, 0, tzinfo=dt.UTC)]
    running = start_in_thread(db_url, clock=lambda: server_now[0])
    try:
        credentials = add_device(db_url, tenant_code="131016", mode="kiosk",
                                 device_id="KIOSK-TEST")
        with LinkageClient(running.url, credentials=credentials, clock=lambda: 0.0) as linkage:
            linkage.submit(make_payload())
            server_now[0] += dt.timedelta(minutes=10)  # the token has expired there
            linkage.submit(make_payload())
            assert linkage.token_fetches == 2
    finally:
        running.stop()


def test_stopped_gateway_is_unreachable(tmp_path: Path, make_payload: PayloadFactory) -> None:
    running = start_in_thread(f"sqlite:///{tmp_path / 'gateway.db'}")
    url = running.url
    running.stop()

    with LinkageClient(url, credentials=FAKE_CREDENTIALS, timeout=2.0) as linkage, \
            pytest.raises(UnreachableError) as caught:
        linkage.submit(make_payload())

    assert isinstance(caught.value, TransientError)
    assert caught.value.status is None
    assert caught.value.retry_after is None
    assert_no_personal_data(caught.value)


# --- tokens (scripted server) -----------------------------------------------------------------


def test_token_request_is_client_credentials_with_basic_auth(
    scripted: ScriptedServer, sclient: LinkageClient
) -> None:
    assert sclient.token() == "token-1"
    [request] = scripted.requests
    assert (request.method, request.path) == ("POST", "/oauth2/token")
    assert request.body == b"grant_type=client_credentials"
    assert request.headers["Authorization"].startswith("Basic ")
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_token_is_cached_until_30_seconds_before_expiry(scripted: ScriptedServer) -> None:
    now = [1000.0]
    with LinkageClient(scripted.url, credentials=FAKE_CREDENTIALS,
                       clock=lambda: now[0]) as linkage:
        assert linkage.token() == "token-1"
        now[0] += 269.9
        assert linkage.token() == "token-1"
        now[0] += 0.1  # 300 s lifetime - 30 s margin
        assert linkage.token() == "token-2"
    assert scripted.tokens_issued == 2


def test_short_lived_tokens_refresh_at_half_life(scripted: ScriptedServer) -> None:
    now = [0.0]
    scripted.script_token(token_response("short", expires_in=20))
    with LinkageClient(scripted.url, credentials=FAKE_CREDENTIALS,
                       clock=lambda: now[0]) as linkage:
        assert linkage.token() == "short"
        now[0] = 9.9
        assert linkage.token() == "short"
        now[0] = 10.0
        assert linkage.token() == "token-1"


def test_401_gets_a_new_token_and_one_retry(scripted: ScriptedServer, sclient: LinkageClient,
                                            make_payload: PayloadFactory) -> None:
    payload = make_payload()
    scripted.script(Canned(401, error_envelope("E1008"), {"WWW-Authenticate": "Bearer"}),
                    Canned(201, envelope([_receipt(payload.metadata.application_id)])))

    receipt = sclient.submit(payload)

    assert receipt.uketsuke_bango == "20260512-000001"
    first, second = scripted.api_requests()
    assert first.headers["Authorization"] == "Bearer token-1"
    assert second.headers["Authorization"] == "Bearer token-2"
    assert first.body == second.body


def test_second_401_is_credentials_refused(scripted: ScriptedServer, sclient: LinkageClient,
                                           make_payload: PayloadFactory) -> None:
    scripted.script(Canned(401, error_envelope("E1008")), Canned(401, error_envelope("E1008")))
    with pytest.raises(AuthenticationError) as caught:
        sclient.submit(make_payload())
    assert caught.value.codes == ["E1008"]
    assert len(scripted.api_requests()) == 2  # exactly one retry
    assert scripted.unused == 0


@pytest.mark.parametrize(
    ("answer", "kind", "codes"),
    [
        (Canned(401, {"error": "invalid_client"}), AuthenticationError, ["invalid_client"]),
        (Canned(400, {"error": "unsupported_grant_type"}), AuthenticationError,
         ["unsupported_grant_type"]),
        (Canned(401, "<html>no</html>"), AuthenticationError, ["invalid_client"]),
        (Canned(404, b""), AuthenticationError, []),
        (Canned(403, b""), ForbiddenError, []),
        (Canned(503, "<html>down</html>"), TransientError, None),
        (Canned(200, {"access_token": "x", "token_type": "mac", "expires_in": 300}),
         InvalidResponseError, None),
        (Canned(200, "<html>portal</html>"), InvalidResponseError, None),
    ],
    ids=["401-invalid_client", "400-grant", "401-html", "404", "403", "503", "not-bearer",
         "html"],
)
def test_token_endpoint_failures(scripted: ScriptedServer, sclient: LinkageClient,
                                 make_payload: PayloadFactory, answer: Canned,
                                 kind: type[SyncError], codes: list[str] | None) -> None:
    scripted.script_token(answer)
    with pytest.raises(kind) as caught:
        sclient.submit(make_payload())
    assert type(caught.value) is kind
    if codes is not None:
        assert isinstance(caught.value, RejectedError) and caught.value.codes == codes
    assert scripted.api_requests() == []  # the application never left without a token


def test_token_endpoint_unreachable_is_transient(make_payload: PayloadFactory) -> None:
    with LinkageClient(f"http://127.0.0.1:{closed_port()}", credentials=FAKE_CREDENTIALS,
                       timeout=2.0) as linkage, pytest.raises(UnreachableError):
        linkage.token()


def test_no_credentials_means_no_token(scripted: ScriptedServer) -> None:
    with LinkageClient(scripted.url) as linkage, pytest.raises(AuthenticationError):
        linkage.token()


def test_token_and_secret_never_logged_or_shown(
    scripted: ScriptedServer, make_payload: PayloadFactory, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "CANARY-SECRET-" + "q" * 30
    credentials = FAKE_CREDENTIALS.model_copy(update={"client_secret": secret})
    scripted.script_token(token_response("CANARY-TOKEN-abc"))
    scripted.script(Canned(401, error_envelope("E1008")), Canned(500, b""),
                    Canned(400, error_envelope("E0001")))
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    with LinkageClient(scripted.url, credentials=credentials) as linkage:
        texts.append(repr(linkage))
        for _ in range(2):
            with pytest.raises(SyncError) as caught:
                linkage.submit(make_payload())
            texts += [str(caught.value), repr(caught.value)]
    joined = "\n".join([*texts, caplog.text])
    assert "CANARY" not in joined
    assert_no_personal_data(SyncError(joined))


# --- every answer shape (scripted server) -----------------------------------------------------


def _receipt(application_id: str) -> dict[str, str]:
    return {"applicationId": application_id, "uketsukeBango": "20260512-000001",
            "receivedAt": "2026-05-12T10:15:00+09:00", "status": "RECEIVED"}


def _status(application_id: str, seq: int = 1, version: int = 1,
            status: str = "RECEIVED") -> dict[str, object]:
    return {**_receipt(application_id), "status": status, "version": version, "seq": seq,
            "updatedAt": "2026-05-12T10:15:00+09:00"}


def test_submit_carries_key_json_token_and_user_agent(
    scripted: ScriptedServer, sclient: LinkageClient, make_payload: PayloadFactory
) -> None:
    payload = make_payload("01J00000000000000000000001")
    scripted.script(Canned(201, envelope([_receipt("01J00000000000000000000001")])))

    receipt = sclient.submit(payload)

    assert receipt.uketsuke_bango == "20260512-000001"
    [request] = scripted.api_requests()
    assert (request.method, request.path) == ("POST", "/madoguchi/v1/applications")
    assert request.headers["Idempotency-Key"] == "01J00000000000000000000001"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Authorization"] == "Bearer token-1"
    assert request.headers["User-Agent"].startswith("madoguchi-desk/")
    assert request.json() == payload.model_dump(mode="json", by_alias=True)


@pytest.mark.parametrize(
    ("answer", "kind", "retry_after"),
    [
        (Canned(503, error_envelope(), {"Retry-After": "120"}), TransientError, 120.0),
        (Canned(502, "<html>Bad Gateway</html>"), TransientError, None),
        (Canned(504, b""), TransientError, None),
        (Canned(500, "Internal Server Error"), TransientError, None),
        (Canned(408, b""), TransientError, None),
        (Canned(429, error_envelope(), {"Retry-After": "soon"}), TransientError, None),
        (Canned(429, b"", {"Retry-After": "86400"}), TransientError, MAX_RETRY_AFTER_S),
        (Canned(302, b"", {"Location": "http://portal.test/login"}), TransientError, None),
        (Canned(201, "<html>captive portal</html>"), InvalidResponseError, None),
        (Canned(200, {"metadata": {}, "result": []}), InvalidResponseError, None),
        (Canned(201, envelope([_receipt("01J00000000000000000000009")])),
         InvalidResponseError, None),
        (Canned(201, drop=True), TransientError, None),
    ],
    ids=["503-json", "502-html", "504-empty", "500-text", "408", "429-bad-date", "429-capped",
         "302-not-followed", "201-html", "200-empty", "201-other-id", "dropped"],
)
def test_transient_answers(scripted: ScriptedServer, sclient: LinkageClient,
                           make_payload: PayloadFactory, answer: Canned,
                           kind: type[TransientError], retry_after: float | None) -> None:
    scripted.script(answer)
    with pytest.raises(TransientError) as caught:
        sclient.submit(make_payload("01J00000000000000000000001"))
    assert type(caught.value) is kind
    assert caught.value.status == (None if answer.drop else answer.status)
    assert caught.value.retry_after == retry_after
    assert_no_personal_data(caught.value)
    assert len(scripted.api_requests()) == 1  # no redirect followed, no silent retry


def test_read_timeout_is_transient(scripted: ScriptedServer, make_payload: PayloadFactory) -> None:
    scripted.script(Canned(201, b"", delay_s=1.5))
    with LinkageClient(scripted.url, credentials=FAKE_CREDENTIALS, timeout=0.5) as linkage, \
            pytest.raises(TransientError) as caught:
        linkage.submit(make_payload())
    assert type(caught.value) is TransientError
    assert caught.value.status is None


def test_retry_after_date_is_read_against_the_server_date(
    scripted: ScriptedServer, sclient: LinkageClient, make_payload: PayloadFactory
) -> None:
    # The device clock is irrelevant: the server says "now" and "then" itself.
    server_now = dt.datetime(2001, 1, 1, tzinfo=dt.UTC)
    then = server_now + dt.timedelta(seconds=90)
    scripted.script(Canned(503, b"", {"Date": format_datetime(server_now, usegmt=True),
                                      "Retry-After": format_datetime(then, usegmt=True)}))
    with pytest.raises(TransientError) as caught:
        sclient.submit(make_payload())
    assert caught.value.retry_after == 90.0


@pytest.mark.parametrize(
    ("answer", "kind", "codes"),
    [
        (Canned(400, error_envelope("E0001", "E0003")), RejectedError, ["E0001", "E0003"]),
        (Canned(400, "<html>Bad Request</html>"), RejectedError, []),
        (Canned(403, b""), ForbiddenError, []),
        (Canned(403, error_envelope("E1007")), ForbiddenError, ["E1007"]),
        (Canned(404, error_envelope()), RejectedError, []),
        (Canned(409, error_envelope("E1009")), ConflictError, ["E1009"]),
        (Canned(409, error_envelope("E1010")), RejectedError, ["E1010"]),
        (Canned(413, "<html>Too Large</html>"), RejectedError, []),
        (Canned(422, {"detail": "x"}), RejectedError, []),
    ],
    ids=["400-envelope", "400-html", "403-empty", "403-E1007", "404", "409-E1009", "409-other",
         "413", "422"],
)
def test_rejected_answers(scripted: ScriptedServer, sclient: LinkageClient,
                          make_payload: PayloadFactory, answer: Canned,
                          kind: type[RejectedError], codes: list[str]) -> None:
    scripted.script(answer)
    with pytest.raises(RejectedError) as caught:
        sclient.submit(make_payload())
    assert type(caught.value) is kind
    assert caught.value.status == answer.status
    assert caught.value.codes == codes


@pytest.mark.parametrize("call", ["meta", "get_application", "status_feed", "withdraw",
                                  "match_residents", "pick_up_handoff"])
def test_unreadable_answers_say_where_but_quote_nothing(
    scripted: ScriptedServer, sclient: LinkageClient, call: str
) -> None:
    # A body full of personal data in the wrong shape: the error names fields, not values.
    bad = {"applicationId": "窓口　太郎", "shimei": "窓口　太郎", "seinengappi": "1990-04-01",
           "version": "621498320257", "uketsukeBango": 1000014}
    scripted.script(Canned(200, envelope([bad])))
    calls: dict[str, Callable[[], object]] = {
        "meta": sclient.meta,
        "get_application": lambda: sclient.get_application("01J00000000000000000000001"),
        "status_feed": lambda: sclient.status_feed(None, 10),
        "withdraw": lambda: sclient.withdraw("01J00000000000000000000001"),
        "match_residents": lambda: sclient.match_residents(
            ResidentQuery(shimei="窓口　太郎", seinengappi="1990-04-01")),
        "pick_up_handoff": lambda: sclient.pick_up_handoff("ABCD-EFGH"),
    }
    with pytest.raises(InvalidResponseError) as caught:
        calls[call]()
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert "HTTP 200" in str(caught.value)
    assert_no_personal_data(caught.value)


def test_paths_and_bodies_of_each_call(scripted: ScriptedServer, sclient: LinkageClient,
                                       new_id: Callable[[], str]) -> None:
    application_id = new_id()
    scripted.script(
        Canned(200, envelope([_status(application_id, 3)])),
        Canned(200, envelope([_status(application_id, 4, 2, "WITHDRAWN")])),
        Canned(201, envelope([{"referenceCode": "ABCD-EFGH",
                               "expiresAt": "2026-05-13T10:00:00+09:00"}])),
        Canned(200, envelope([])),
    )
    assert sclient.status_feed(2, 10)[0].seq == 3
    assert sclient.withdraw(application_id, "DUPLICATE").status == "WITHDRAWN"
    sclient.push_handoff(HandoffRequest(reference_code="ABCD-EFGH", draft_id=application_id,
                                        procedure_ids=["juki-tennyu"], answers={}))
    assert sclient.match_residents(ResidentQuery(shimei_furigana="マドグチ　タロウ",
                                                 seinengappi="1990-04-01")) == []
    feed, withdraw, handoff, match = scripted.api_requests()
    assert (feed.method, feed.path) == ("GET", "/madoguchi/v1/applications?limit=10&cursor=2")
    assert withdraw.path == f"/madoguchi/v1/applications/{application_id}/withdraw"
    assert withdraw.json() == {"reasonCode": "DUPLICATE"}
    assert handoff.path == "/madoguchi/v1/handoffs"
    assert handoff.json()["referenceCode"] == "ABCD-EFGH"
    assert match.json() == {"shimei_furigana": "マドグチ　タロウ", "seinengappi": "1990-04-01"}


def test_catalog_etag(scripted: ScriptedServer, sclient: LinkageClient) -> None:
    scripted.script(Canned(200, b"\x00bundle", {"ETag": '"v7"'}),
                    Canned(304, None, {"ETag": '"v7"'}))

    fresh = sclient.fetch_catalog(None)
    same = sclient.fetch_catalog(fresh.etag)

    assert (fresh.not_modified, fresh.etag, fresh.body) == (False, '"v7"', b"\x00bundle")
    assert (same.not_modified, same.etag, same.body) == (True, '"v7"', b"")
    first, second = scripted.api_requests()
    assert "If-None-Match" not in first.headers
    assert second.headers["If-None-Match"] == '"v7"'


def test_ids_cannot_change_the_path(scripted: ScriptedServer, sclient: LinkageClient) -> None:
    scripted.script(Canned(404, error_envelope()))
    with pytest.raises(RejectedError):
        sclient.get_application("../../oauth2/token")
    [request] = scripted.api_requests()
    assert request.path == "/madoguchi/v1/applications/..%2F..%2Foauth2%2Ftoken"


def test_every_error_is_a_sync_error() -> None:
    assert issubclass(TransientError, SyncError)
    assert issubclass(UnreachableError, TransientError)
    assert issubclass(InvalidResponseError, TransientError)
    assert issubclass(RejectedError, SyncError)
    assert issubclass(ConflictError, RejectedError)
    assert issubclass(AuthenticationError, RejectedError)
    assert issubclass(ForbiddenError, RejectedError)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("30", 30.0),
        ("1.5", 1.5),
        ("-5", 0.0),
        ("nan", None),
        ("Tue, 12 May 2026 01:02:00 GMT", 60.0),
        ("Tue, 12 May 2026 01:00:00 GMT", 0.0),
        ("next week", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    now = dt.datetime(2026, 5, 12, 1, 1, 0, tzinfo=dt.UTC)
    assert parse_retry_after(value, now=now) == expected
