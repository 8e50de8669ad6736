"""Workspace variables through the real server (needs the workspace plugin: the Rust runner
deselects this module until that plugin is part of the build, see
``tests/tests/python_client.rs``)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import numpy
import pandas
import pytest

import labsocket
from conftest import MakeServer
from harness import WAIT, LabServer, free_tcp_port

def test_a_numpy_array_set_in_one_process_is_read_in_another(server: LabServer) -> None:
    spectrum = numpy.linspace(0.0, 1.0, 1001).reshape(7, 143)
    with labsocket.Client(port=server.native_port) as lab:
        meta = lab.set("spectrum", spectrum)
        assert (meta.name, meta.encoding) == ("spectrum", "npy")
    reader = textwrap.dedent(
        f"""
        import labsocket, numpy
        with labsocket.Client(port={server.native_port}) as lab:
            array = lab.get("spectrum")
        print(array.shape, array.dtype, repr(float(array.sum())))
        """
    )
    out = subprocess.run([sys.executable, "-c", reader], capture_output=True, text=True,
                         timeout=WAIT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"(7, 143) float64 {float(spectrum.sum())!r}"


def test_values_come_back_as_they_went_in(server: LabServer) -> None:
    frame = pandas.DataFrame({"t": [0.0, 0.5, 1.0], "v": [1, 2, 3]})
    with labsocket.Client(port=server.native_port) as lab:
        lab.set("settings", {"gain": 2.5, "on": True, "nan": float("inf")})
        assert lab.get("settings") == {"gain": 2.5, "on": True, "nan": float("inf")}
        lab.set("frame", frame)
        pandas.testing.assert_frame_equal(lab.get("frame"), frame)
        lab.set("frame_parquet", frame, encoding="parquet")
        pandas.testing.assert_frame_equal(lab.get("frame_parquet"), frame)
        lab.set("blob", labsocket.Encoded("image/png", b"\x89PNG"))
        assert lab.get("blob") == labsocket.Encoded("image/png", b"\x89PNG")
        assert lab.meta("frame").encoding == "arrow"


def test_pickles_are_opt_in(server: LabServer) -> None:
    with labsocket.Client(port=server.native_port) as lab:
        lab.set("odd", {1, 2}, encoding="pickle")
        with pytest.raises(labsocket.PickleRefused):
            lab.get("odd")
        assert lab.get("odd", allow_pickle=True) == {1, 2}
    with labsocket.Client(port=server.native_port, allow_pickle=True) as trusting:
        assert trusting.get("odd") == {1, 2}


def test_names_meta_delete_and_not_found(server: LabServer) -> None:
    with labsocket.Client(port=server.native_port) as lab:
        first = lab.set("a", 1)
        second = lab.set("a", 2)
        assert second.version is not None and first.version is not None
        assert second.version > first.version
        lab.set("b", [1, 2])
        assert sorted(lab.names()) == ["a", "b"]
        assert {m.name: m.encoding for m in lab.variables()} == {"a": "json", "b": "json"}
        assert lab.delete("a") is True
        assert lab.delete("a") is False
        with pytest.raises(labsocket.NotFound) as missing:
            lab.get("a")
        assert missing.value.code == -32004
        with pytest.raises(KeyError):
            lab.meta("a")


def test_data_changed_events_survive_a_server_restart(make_server: MakeServer) -> None:
    server = make_server(native_port=free_tcp_port())
    with labsocket.Client(port=server.native_port, backoff=(0.05, 0.5)) as watcher:
        changes = watcher.subscribe(["data_changed", "data_deleted"])
        with labsocket.Client(port=server.native_port) as writer:
            writer.set("x", 1)
        event = changes.get(timeout=WAIT)
        assert (event.topic, event["data_name"]) == ("data_changed", "x")

        server.restart()
        deadline = time.monotonic() + WAIT
        with labsocket.Client(port=server.native_port) as writer:
            assert writer.get("x") == 1  # the workspace persisted across the restart
            while True:
                writer.set("y", 2)
                try:
                    event = changes.get(timeout=0.2)
                    break
                except labsocket.Timeout:
                    assert time.monotonic() < deadline, "no data_changed after the restart"
            assert event["data_name"] == "y"
            writer.delete("y")
            deleted = changes.get(timeout=WAIT)
            while deleted.topic != "data_deleted":
                deleted = changes.get(timeout=WAIT)
            assert deleted["data_name"] == "y"
        assert watcher.reconnects == 1
