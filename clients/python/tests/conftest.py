"""Fixtures: real servers (``make_server``, ``server``) and their UDP sockets under test."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Callable, Iterator, List, Optional

import pytest

import labsocket
from harness import LabServer

MakeServer = Callable[..., LabServer]


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[MakeServer]:
    """Starts servers with a given config; all are killed at the end of the test."""
    started: List[LabServer] = []
    numbers = itertools.count()

    def make(config: str = "", native_port: int = 0) -> LabServer:
        server = LabServer(tmp_path / f"server{next(numbers)}", config, native_port)
        started.append(server)
        return server

    yield make
    for server in started:
        server.kill()


@pytest.fixture
def server(make_server: MakeServer) -> LabServer:
    return make_server()


#: One server's PyExpLabSys sockets (ports 0: the real ports come from its ``listening``
#: lines): a date pull socket, a ``store_last`` push socket and a ``callback_direct`` push
#: socket calling ``hello.greet`` (the compiled-in example plugin).
UDP_SOCKETS = """
[[pull_socket]]
name = "Test date socket"
kind = "date"
port = 0
codenames = ["alpha", "beta", "gamma"]
timeouts = { beta = 1.0, gamma = 0.5 }

[[push_socket]]
name = "Test push socket"
port = 0
action = "store_last"

[[push_socket]]
name = "Greeting push socket"
port = 0
action = "callback_direct"
command = "hello.greet"
"""


@pytest.fixture
def udp_server(make_server: MakeServer) -> LabServer:
    return make_server(UDP_SOCKETS)


class PullSocketUnderTest:
    """The date pull socket ``pull.0`` of ``UDP_SOCKETS``: codenames alpha, beta (1 s),
    gamma (0.5 s); ``set_point`` sets a point through the server's native front end."""

    name = "Test date socket"
    codenames = ["alpha", "beta", "gamma"]

    def __init__(self, server: LabServer) -> None:
        self.host, self.port = server.pull_address(0)
        self._native_port = server.native_port

    def set_point(self, codename: str, x: float, y: object) -> None:
        with labsocket.Client(port=self._native_port) as lab:
            lab.set_point(codename, (x, y))


@pytest.fixture
def pull_socket(udp_server: LabServer) -> PullSocketUnderTest:
    return PullSocketUnderTest(udp_server)


class PushSocketUnderTest:
    """Push socket ``push.<index>``; ``last()`` is the dict it stored last (``push_state``)."""

    def __init__(self, server: LabServer, index: int) -> None:
        self.host, self.port = server.push_address(index)
        self._native_port = server.native_port

    def last(self) -> Optional[dict]:
        with labsocket.Client(port=self._native_port) as lab:
            last: Optional[dict] = lab.call("push_state", [self.port])["last"]
            return last


@pytest.fixture
def push_socket(udp_server: LabServer) -> PushSocketUnderTest:
    """A ``store_last`` push socket."""
    return PushSocketUnderTest(udp_server, 0)


@pytest.fixture
def callback_push_socket(udp_server: LabServer) -> PushSocketUnderTest:
    """A ``callback_direct`` push socket calling ``hello.greet``: ``{"name": "Ada"}`` →
    ``"Hello, Ada!"``; a ``name`` that is not a string makes the command fail."""
    return PushSocketUnderTest(udp_server, 1)
