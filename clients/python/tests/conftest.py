"""Fixtures: real servers (``make_server``, ``server``) and the UDP sockets under test."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Callable, Iterator, List, Optional

import pytest

import pyexplabsys_fake
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


class PullSocketUnderTest:
    """A date pull socket named ``name`` with codenames alpha, beta (1 s), gamma (0.5 s)."""

    name = "Test date socket"
    codenames = ["alpha", "beta", "gamma"]
    timeouts = {"beta": 1.0, "gamma": 0.5}

    def __init__(self, port: int, set_point: Callable[[str, float, object], None]) -> None:
        self.host = "127.0.0.1"
        self.port = port
        self.set_point = set_point


@pytest.fixture
def pull_socket() -> Iterator[PullSocketUnderTest]:
    """The pull socket the PullClient tests read (a PyExpLabSys stand-in until labsocket's
    UDP front end is merged; then: a LabServer with this [[pull_socket]] and set_point)."""
    fake = pyexplabsys_fake.pull_socket(
        PullSocketUnderTest.name, PullSocketUnderTest.codenames, PullSocketUnderTest.timeouts
    )
    with fake:
        def set_point(codename: str, x: float, y: object) -> None:
            fake.state.points[codename] = (x, y)

        yield PullSocketUnderTest(fake.port, set_point)


class PushSocketUnderTest:
    def __init__(self, port: int, last: Callable[[], Optional[dict]]) -> None:
        self.host = "127.0.0.1"
        self.port = port
        self.last = last


@pytest.fixture
def push_socket() -> Iterator[PushSocketUnderTest]:
    """A ``store_last`` push socket (stand-in until the UDP front end is merged)."""
    with pyexplabsys_fake.push_socket() as fake:
        yield PushSocketUnderTest(fake.port, lambda: fake.state.last)


@pytest.fixture
def callback_push_socket() -> Iterator[PushSocketUnderTest]:
    """A ``callback_direct`` push socket whose callback doubles ``x`` and fails without it."""

    def double(data: dict) -> dict:
        return {"doubled": data["x"] * 2}

    with pyexplabsys_fake.push_socket(double) as fake:
        yield PushSocketUnderTest(fake.port, lambda: fake.state.last)
