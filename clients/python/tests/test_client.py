"""Client against the real server: calls, errors, timeouts, threads, points and events."""

from __future__ import annotations

import math
import threading

import pytest

import labsocket
from harness import LabServer, free_tcp_port


def test_calls_round_trip_python_values(server: LabServer) -> None:
    with labsocket.Client(port=server.native_port) as lab:
        lab.ping()
        assert lab.call("hello.greet", {"name": "Ada"}) == "Hello, Ada!"
        echoed = lab.call("echo", [1, 1.0, "é", None, True, [float("inf"), -float("inf")]])
        assert echoed[:5] == [1, 1.0, "é", None, True]
        assert isinstance(echoed[0], int) and isinstance(echoed[1], float)
        assert echoed[5] == [math.inf, -math.inf]
        assert math.isnan(lab.call("echo", [float("nan")])[0])
        assert lab.call("echo", (1, 2)) == [1, 2]
        assert lab.status()["version"]
        assert any(c["name"] == "hello.greet" for c in lab.commands())


def test_server_errors_carry_code_and_message(server: LabServer) -> None:
    with labsocket.Client(port=server.native_port) as lab:
        with pytest.raises(labsocket.MethodNotFound) as caught:
            lab.call("no.such.command")
        assert caught.value.code == -32601
        assert "unknown method 'no.such.command'" in str(caught.value)
        with pytest.raises(labsocket.InvalidParams):
            lab.call("hello.greet", {"name": 3})
        with pytest.raises(labsocket.NotFound) as missing:
            lab.get_point("never-set")
        assert "never-set" in str(missing.value)
        # Every labsocket error is a ConnectionError, so old `except` clauses still work.
        assert isinstance(missing.value, ConnectionError)
        with pytest.raises(labsocket.ServerError) as panicked:
            lab.call("hello.panic")
        assert panicked.value.code == -32001
        lab.ping()  # the connection is still fine after errors


def test_unreachable_server_is_a_clear_error() -> None:
    port = free_tcp_port()
    with pytest.raises(labsocket.ServerUnavailable) as caught:
        labsocket.Client(port=port, connect_timeout=2)
    assert f"127.0.0.1:{port}" in str(caught.value)


def test_a_slow_reply_times_out_without_breaking_the_connection(server: LabServer) -> None:
    with labsocket.Client(port=server.native_port) as lab:
        with pytest.raises(labsocket.Timeout) as caught:
            lab.call("hello.sleep", {"ms": 1500}, timeout=0.2)
        assert isinstance(caught.value, TimeoutError)
        assert "hello.sleep" in str(caught.value)
        # The late reply is dropped, not handed to the next caller.
        assert lab.call("echo", ["after"]) == ["after"]


def test_many_threads_share_one_client(server: LabServer) -> None:
    results: dict = {}
    errors: list = []

    with labsocket.Client(port=server.native_port) as lab:
        def work(worker: int) -> None:
            try:
                for i in range(50):
                    results[(worker, i)] = lab.call("echo", [worker, i])
            except Exception as err:  # collected and asserted below
                errors.append(err)

        threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert len(results) == 400
    assert all(value == [w, i] for (w, i), value in results.items())


def test_closed_client_refuses_calls(server: LabServer) -> None:
    lab = labsocket.Client(port=server.native_port)
    lab.close()
    with pytest.raises(labsocket.ClientClosed):
        lab.ping()
    lab.close()  # closing twice is harmless


def test_points_set_and_read(server: LabServer) -> None:
    with labsocket.Client(port=server.native_port) as lab:
        lab.set_point("temp", (1795238169.25, 21.5))
        assert lab.get_point("temp") == (1795238169.25, 21.5)
        x = lab.set_point_now("state", "running")
        assert lab.get_point("state") == (x, "running")


def test_subscription_iterates_over_events(server: LabServer) -> None:
    with labsocket.Client(port=server.native_port) as lab:
        with lab.subscribe("points") as points:
            lab.set_point("temp", (1.0, 2.5))
            event = points.get(timeout=5)
            assert event.topic == "points"
            assert event["temp"] == [1.0, 2.5]
            lab.call("hello.announce", {"topic": "other", "payload": {"a": 1}})
            lab.set_point("temp", (2.0, 3.5))
            # Only the subscribed topic arrives.
            assert next(iter(points))["temp"] == [2.0, 3.5]
        with pytest.raises(labsocket.ClientClosed):
            points.get(timeout=1)


def test_callback_subscription_and_wildcard(server: LabServer) -> None:
    received: list = []
    arrived = threading.Event()

    def on_event(event: labsocket.Event) -> None:
        received.append(event)
        if event.topic == "lab.alarm":
            arrived.set()

    with labsocket.Client(port=server.native_port) as lab:
        lab.subscribe("*", on_event)
        lab.call("hello.announce", {"topic": "lab.alarm", "payload": {"level": 2}})
        assert arrived.wait(5)
        alarm = [e for e in received if e.topic == "lab.alarm"][0]
        assert alarm["level"] == 2
        # A payload that is not an object arrives as "data".
        arrived.clear()
        lab.call("hello.announce", {"topic": "lab.alarm", "payload": 7})
        assert arrived.wait(5)
        assert received[-1]["data"] == 7


def test_a_callback_may_call_the_client(server: LabServer) -> None:
    answers: list = []
    done = threading.Event()

    with labsocket.Client(port=server.native_port) as lab:
        def on_point(event: labsocket.Event) -> None:
            answers.append(lab.get_point("temp"))
            done.set()

        lab.subscribe("points", on_point)
        lab.set_point("temp", (5.0, 6.0))
        assert done.wait(5)
    assert answers == [(5.0, 6.0)]


def test_closing_one_subscription_keeps_the_others(server: LabServer) -> None:
    with labsocket.Client(port=server.native_port) as lab:
        first = lab.subscribe("points")
        second = lab.subscribe("points")
        first.close()
        lab.set_point("temp", (1.0, 1.0))
        assert second.get(timeout=5)["temp"] == [1.0, 1.0]
        with pytest.raises(labsocket.ClientClosed):
            first.get(timeout=0.1)
