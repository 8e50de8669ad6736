"""PullClient and push() against the server's PyExpLabSys UDP sockets (conftest fixtures)."""

from __future__ import annotations

import socket
import time

import pytest

import labsocket
from conftest import PullSocketUnderTest, PushSocketUnderTest


def test_reads_fields_like_date_data_pull_client(pull_socket: PullSocketUnderTest) -> None:
    now = time.time()
    pull_socket.set_point("alpha", now, 42.0)
    pull_socket.set_point("beta", now, 1)
    pull_socket.set_point("gamma", now, "hello")
    with labsocket.PullClient(pull_socket.host, pull_socket.name, port=pull_socket.port) as pull:
        assert pull.name == pull_socket.name
        assert pull.codenames == ["alpha", "beta", "gamma"]
        assert pull.get_field("alpha") == (now, 42.0)
        assert pull.get_all_fields() == {
            "alpha": (now, 42.0), "beta": (now, 1), "gamma": (now, "hello")
        }
        status = pull.status()
        assert set(status) == {"system_status", "socket_server_status"}
        assert "socket_server_status" in pull.get_status()  # PyExpLabSys' name


def test_old_data_raises_or_is_returned(pull_socket: PullSocketUnderTest) -> None:
    pull_socket.set_point("alpha", time.time(), 1.0)
    pull_socket.set_point("beta", time.time() - 10, 2.0)  # beta times out after 1 s
    with labsocket.PullClient(pull_socket.host, port=pull_socket.port) as pull:
        with pytest.raises(labsocket.OldData) as caught:
            pull.get_field("beta")
        assert caught.value.codenames == ["beta"]
        with pytest.raises(labsocket.OldData) as every:
            pull.get_all_fields()
        assert set(every.value.codenames) == {"beta", "gamma"}
    with labsocket.PullClient(
        pull_socket.host, port=pull_socket.port, exception_on_old_data=False
    ) as lenient:
        assert lenient.get_field("beta") == labsocket.OLD_DATA
        assert lenient.get_all_fields()["gamma"] == labsocket.OLD_DATA


def test_wrong_socket_and_unknown_codename(pull_socket: PullSocketUnderTest) -> None:
    with pytest.raises(labsocket.WrongSocket) as wrong:
        labsocket.PullClient(pull_socket.host, "Another socket", port=pull_socket.port)
    assert "Test date socket" in str(wrong.value)
    assert isinstance(wrong.value, ValueError)  # what PyExpLabSys raised
    with labsocket.PullClient(pull_socket.host, port=pull_socket.port) as pull:
        with pytest.raises(labsocket.UnknownCommand, match="no codename 'delta'"):
            pull.get_field("delta")


def test_silence_is_a_timeout() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as mute:
        mute.bind(("127.0.0.1", 0))
        started = time.monotonic()
        with pytest.raises(labsocket.Timeout):
            labsocket.PullClient("127.0.0.1", port=mute.getsockname()[1], timeout=0.3)
        assert time.monotonic() - started < 5


def test_push_returns_the_ack(push_socket: PushSocketUnderTest) -> None:
    reply = labsocket.push({"a": 1, "b": "x", "c": True, "d": None}, port=push_socket.port)
    assert reply.kind == "ACK"
    assert reply.text == "{'a': 1, 'b': 'x', 'c': True, 'd': None}"
    assert reply.value == {"a": 1, "b": "x", "c": True, "d": None}
    assert push_socket.last() == {"a": 1, "b": "x", "c": True, "d": None}
    with pytest.raises(ValueError, match="'#'"):
        labsocket.push({"a#b": 1}, port=push_socket.port)


def test_push_callback_results_and_errors(callback_push_socket: PushSocketUnderTest) -> None:
    reply = labsocket.push({"name": "Ada"}, port=callback_push_socket.port)
    assert (reply.kind, reply.value) == ("RET", "Hello, Ada!")
    with pytest.raises(labsocket.CallbackError, match="callback raised: 'name' must be a string"):
        labsocket.push({"name": 1}, port=callback_push_socket.port)
