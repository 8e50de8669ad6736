"""The connection repairs itself: server restarts, a hung (SIGSTOPped) server, no-reconnect."""

from __future__ import annotations

import json
import socketserver
import threading
import time
from typing import Iterator, List, Tuple

import pytest

import labsocket
from conftest import MakeServer
from harness import WAIT, free_tcp_port, wait_until

FAST_BACKOFF = (0.05, 0.5)


def wait_for_point(watcher: labsocket.Subscription, writer_port: int, codename: str) -> dict:
    """Sets ``codename`` through a fresh writer until the watcher sees it (the watcher may
    still be reconnecting); returns the event's fields."""
    deadline = time.monotonic() + WAIT
    value = 0
    with labsocket.Client(port=writer_port) as writer:
        while True:
            value += 1
            writer.set_point(codename, (float(value), value))
            try:
                while True:
                    event = watcher.get(timeout=0.2)
                    if codename in event.fields:
                        return event.fields
            except labsocket.Timeout:
                assert time.monotonic() < deadline, "the watcher never saw the point"


def test_watcher_keeps_receiving_events_across_server_restarts(make_server: MakeServer) -> None:
    server = make_server(native_port=free_tcp_port())
    with labsocket.Client(port=server.native_port, backoff=FAST_BACKOFF) as lab:
        points = lab.subscribe("points")
        assert wait_for_point(points, server.native_port, "before")["before"][1] >= 1
        for restart in range(2):
            server.restart()
            assert wait_for_point(points, server.native_port, f"after{restart}")
        assert lab.reconnects == 2
        assert lab.connected
        lab.ping()


def test_a_call_during_an_outage_waits_for_the_new_server(make_server: MakeServer) -> None:
    server = make_server(native_port=free_tcp_port())
    port = server.native_port
    with labsocket.Client(port=port, backoff=FAST_BACKOFF, timeout=WAIT) as lab:
        server.kill()
        wait_until(lambda: not lab.connected, "the client to notice the crash")
        answers: List[object] = []
        caller = threading.Thread(target=lambda: answers.append(lab.call("echo", ["late"])))
        caller.start()
        server.start(port)
        caller.join(WAIT)
        assert answers == [["late"]]


def test_a_hung_server_is_noticed_from_missing_heartbeats(make_server: MakeServer) -> None:
    server = make_server("[native]\nheartbeat_secs = 0.2\n")
    changes: List[Tuple[bool, float]] = []
    with labsocket.Client(
        port=server.native_port,
        backoff=FAST_BACKOFF,
        on_connection=lambda up: changes.append((up, time.monotonic())),
    ) as lab:
        points = lab.subscribe("points")
        wait_until(lambda: lab.heartbeat_period is not None, "a first heartbeat")
        assert 0.1 < lab.heartbeat_period < 1.0  # type: ignore[operator]
        stopped = time.monotonic()
        server.pause()  # no more heartbeats, but the socket stays open
        try:
            wait_until(lambda: changes, "the client to notice the silence", timeout=5)
            up, noticed = changes[0]
            assert not up
            assert noticed - stopped < 1.5, f"noticed after {noticed - stopped:.2f} s"
        finally:
            server.resume()
        wait_until(lambda: lab.connected and changes[-1][0], "the reconnection")
        assert wait_for_point(points, server.native_port, "resumed")
        lab.ping()


def test_without_reconnect_a_crash_ends_calls_and_subscriptions(make_server: MakeServer) -> None:
    server = make_server()
    lab = labsocket.Client(port=server.native_port, reconnect=False)
    points = lab.subscribe("points")
    slow: List[BaseException] = []

    def call_slowly() -> None:
        try:
            lab.call("hello.sleep", {"ms": 5000})
        except labsocket.LabsocketError as err:
            slow.append(err)

    # The status request sent on connecting is answered first: then only the slow call
    # is pending.
    wait_until(lambda: lab.heartbeat_period is not None, "the status reply")
    caller = threading.Thread(target=call_slowly)
    caller.start()
    wait_until(lambda: lab._pending, "the slow call to be sent")
    server.kill()
    caller.join(WAIT)
    assert len(slow) == 1 and isinstance(slow[0], labsocket.ConnectionLost)
    with pytest.raises(labsocket.ConnectionLost):
        points.get(timeout=WAIT)
    with pytest.raises(labsocket.ConnectionLost):
        lab.ping()
    lab.close()


def test_the_heartbeat_period_is_known_from_status_before_any_heartbeat(
    make_server: MakeServer,
) -> None:
    server = make_server("[native]\nheartbeat_secs = 30\n", native_port=free_tcp_port())
    with labsocket.Client(port=server.native_port, backoff=FAST_BACKOFF) as lab:
        wait_until(lambda: lab.heartbeat_period == 30.0, "the period from status", timeout=1.0)
        server.kill()
        wait_until(lambda: not lab.connected, "the client to notice the crash")
        lab.heartbeat_period = None
        server.start(server.native_port)
        wait_until(lambda: lab.heartbeat_period == 30.0, "the period after reconnecting")


@pytest.fixture
def older_server() -> Iterator[int]:
    """A native server from before ``status`` gave ``heartbeat_secs``: its status has no
    such field, and it sends a heartbeat every 0.3 s (by ``ts``) right after connecting."""

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            for ts in (1000.0, 1000.3, 1000.6):
                beat = {"jsonrpc": "2.0", "method": "heartbeat", "params": {"ts": ts}}
                self.wfile.write(json.dumps(beat).encode() + b"\n")
            for line in self.rfile:
                request = json.loads(line)
                result = {"version": "0.0.9", "front_ends": [{"name": "native"}]}
                reply = {"jsonrpc": "2.0", "id": request["id"], "result": result}
                self.wfile.write(json.dumps(reply).encode() + b"\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_without_heartbeat_secs_in_status_the_period_is_measured(older_server: int) -> None:
    with labsocket.Client(port=older_server) as lab:
        assert lab.status()["version"] == "0.0.9"
        wait_until(lambda: lab.heartbeat_period is not None, "two heartbeats")
        assert lab.heartbeat_period == pytest.approx(0.3)
