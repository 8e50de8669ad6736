"""Authentication: ``token=`` and ``LABSOCKET_TOKEN`` against a server that requires one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import labsocket

TOKEN = "python-client-test-token-0123456789"


def secured(make_server, tmp_path: Path):
    secret = tmp_path / "token"
    secret.write_text(TOKEN + "\n")
    os.chmod(secret, 0o600)
    return make_server(f'[native]\nauth_token_file = "{secret}"\n')


def test_the_token_opens_the_connection(make_server, tmp_path: Path) -> None:
    server = secured(make_server, tmp_path)
    with labsocket.Client(port=server.native_port, token=TOKEN) as lab:
        lab.ping()
        assert lab.call("echo", [1]) == [1]


def test_the_environment_variable_is_the_default(make_server, tmp_path, monkeypatch) -> None:
    server = secured(make_server, tmp_path)
    monkeypatch.setenv("LABSOCKET_TOKEN", TOKEN)
    with labsocket.Client(port=server.native_port) as lab:
        lab.ping()


def test_a_wrong_or_missing_token_is_refused(make_server, tmp_path: Path, monkeypatch) -> None:
    server = secured(make_server, tmp_path)
    with pytest.raises(labsocket.AuthenticationFailed) as caught:
        labsocket.Client(port=server.native_port, token="wrong-token-wrong-token")
    assert caught.value.code == -32003
    monkeypatch.delenv("LABSOCKET_TOKEN", raising=False)
    with labsocket.Client(port=server.native_port, reconnect=False) as lab:
        with pytest.raises(labsocket.AuthenticationFailed):
            lab.ping()


def test_a_token_is_harmless_when_the_server_needs_none(server) -> None:
    with labsocket.Client(port=server.native_port, token="not-needed") as lab:
        lab.ping()
