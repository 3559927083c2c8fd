"""`madoguchi gateway`: serve stays the default, add-device prints credentials, openapi."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from sync.gateway.server import start_in_thread
from sync.protocol import DeviceCredentials
from ui.cli import build_parser, main
from ui.cli_gateway import cmd_serve


def test_gateway_alone_still_serves() -> None:
    args = build_parser().parse_args(["gateway", "--port", "9000", "--db", "sqlite:///x.db"])
    assert args.handler is cmd_serve
    assert (args.host, args.port, args.db) == ("127.0.0.1", 9000, "sqlite:///x.db")
    args = build_parser().parse_args(["gateway", "--port", "9000", "serve", "--host", "::1"])
    assert args.handler is cmd_serve
    assert (args.host, args.port) == ("::1", 9000)


def test_add_device_prints_credentials_that_get_a_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    code = main(["gateway", "--db", url, "add-device", "--tenant", "131016", "--mode", "counter",
                 "--device-id", "counter-1"])
    assert code == 0
    out, err = capsys.readouterr()
    credentials = DeviceCredentials.model_validate(json.loads(out))
    assert (credentials.device_id, credentials.mode) == ("counter-1", "counter")
    assert credentials.client_secret not in err

    running = start_in_thread(url)
    try:
        response = httpx.post(f"{running.url}/oauth2/token",
                              data={"grant_type": "client_credentials"},
                              auth=(credentials.client_id, credentials.client_secret))
    finally:
        running.stop()
    assert response.status_code == 200


def test_add_device_uses_the_data_folder_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--data-dir", str(tmp_path), "gateway", "add-device", "--tenant", "011002",
                 "--mode", "backoffice"])
    assert code == 0
    assert (tmp_path / "gateway.sqlite3").exists()
    assert json.loads(capsys.readouterr().out)["device_id"].startswith("backoffice-")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--tenant", "131017", "--mode", "kiosk"], "check digit"),
        (["--tenant", "131016", "--mode", "kiosk", "--device-id", "a b"], "device id"),
    ],
)
def test_add_device_explains_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], expected: str
) -> None:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    assert main(["gateway", "--db", url, "add-device", *extra]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert expected in err


def test_add_device_twice_and_disable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    device = ["--tenant", "131016", "--mode", "kiosk", "--device-id", "kiosk-1"]
    assert main(["gateway", "--db", url, "add-device", *device]) == 0
    assert main(["gateway", "--db", url, "add-device", *device]) == 2
    assert "--replace" in capsys.readouterr().err
    assert main(["gateway", "--db", url, "add-device", *device, "--replace"]) == 0
    disable = ["gateway", "--db", url, "disable-device", "--tenant", "131016",
               "--device-id", "kiosk-1"]
    assert main(disable) == 0
    assert main(disable) == 1


def test_openapi_lists_every_route_with_bearer_security(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["gateway", "openapi"]) == 0
    document = json.loads(capsys.readouterr().out)
    paths = document["paths"]
    assert "/oauth2/token" in paths
    assert "/madoguchi/v1/applications/{application_id}/withdraw" in paths
    for path, operations in paths.items():
        if path.startswith("/madoguchi/v1"):
            for operation in operations.values():
                assert operation["security"] == [{"bearer": []}], path
