"""Workspace variables through the real server and its workspace plugin.

The first and last tests are issue 4's "done when", each with two real Python processes
(this one and a ``python -c`` child): a numpy array set in one is read in the other, and
``data_changed`` events a child's writes cause reach this process's watcher across a
server restart, without the watcher being restarted.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Optional

import numpy
import pandas
import pytest

import labsocket
from conftest import MakeServer
from harness import WAIT, LabServer, free_tcp_port


def python(code: str, stdin: Optional[int] = None) -> "subprocess.Popen[str]":
    """Starts ``code`` in a second Python process (this interpreter, so ``labsocket`` is
    importable)."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)], text=True, stdin=stdin,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def finish(process: "subprocess.Popen[str]", stdin: str = "") -> str:
    """Waits for ``process`` (killing it after ``WAIT``); asserts it succeeded and returns
    its standard output."""
    try:
        out, err = process.communicate(stdin or None, timeout=WAIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    return out


def test_a_numpy_array_set_in_one_process_is_read_in_another(server: LabServer) -> None:
    spectrum = numpy.linspace(0.0, 1.0, 1001).reshape(7, 143)
    with labsocket.Client(port=server.native_port) as lab:
        meta = lab.set("spectrum", spectrum)
        assert (meta.name, meta.encoding) == ("spectrum", "npy")
    reader = python(
        f"""
        import labsocket, numpy
        with labsocket.Client(port={server.native_port}) as lab:
            array = lab.get("spectrum")
        print(array.shape, array.dtype, repr(float(array.sum())))
        """
    )
    assert finish(reader).strip() == f"(7, 143) float64 {float(spectrum.sum())!r}"


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


def test_large_values_travel_as_binary_frames(server: LabServer) -> None:
    # Over BINARY_THRESHOLD: sent as {"$binary": N} + raw bytes, read back the same way.
    big = numpy.arange(300_000, dtype=numpy.float64).reshape(1000, 300) * 0.5
    fortran = numpy.asfortranarray(big[:, :7])  # not C-contiguous: encoded by numpy.save
    blob = labsocket.Encoded("image/png", bytes(range(256)) * 400)
    with labsocket.Client(port=server.native_port) as lab:
        assert lab.set("big", big).size == big.nbytes + 128
        lab.set("fortran", fortran)
        lab.set("blob", blob)
        back = lab.get("big")
        assert back.shape == big.shape and numpy.array_equal(back, big)
        back[0, 0] = 7.0  # a binary reply is a writable array of its own
        assert numpy.array_equal(lab.get("fortran"), fortran)
        assert lab.get("blob") == blob and isinstance(lab.get("blob").data, bytes)
        assert lab.get_encoded("big").data[:6] == b"\x93NUMPY"
        # Small values keep base64 inside the line, and pipelined calls stay in order.
        lab.set("small", numpy.arange(3.0))
        assert lab.get("small").tolist() == [0.0, 1.0, 2.0]
        assert lab.meta("big").size == big.nbytes + 128


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
    port = server.native_port
    with labsocket.Client(port=port, backoff=(0.05, 0.5)) as watcher:
        changes = watcher.subscribe(["data_changed", "data_deleted"])
        finish(python(
            f"""
            import labsocket
            with labsocket.Client(port={port}) as lab:
                lab.set("x", 1)
            """
        ))
        event = changes.get(timeout=WAIT)
        assert (event.topic, event["data_name"]) == ("data_changed", "x")

        server.restart()
        # The watcher reconnects by itself, at a moment of its own: the writer sets y
        # until told to stop (a line on its stdin), then deletes it.
        writer = python(
            f"""
            import select, sys, labsocket
            with labsocket.Client(port={port}) as lab:
                print(lab.get("x"), flush=True)  # the workspace persisted
                while not select.select([sys.stdin], [], [], 0.2)[0]:
                    lab.set("y", 2)
                sys.stdin.readline()
                print(lab.delete("y"), flush=True)
            """,
            stdin=subprocess.PIPE,
        )
        try:
            event = changes.get(timeout=WAIT)
        finally:
            out = finish(writer, "stop\n")
        assert (event.topic, event["data_name"]) == ("data_changed", "y")
        assert out.split() == ["1", "True"]
        deleted = changes.get(timeout=WAIT)
        while deleted.topic != "data_deleted":
            deleted = changes.get(timeout=WAIT)
        assert deleted["data_name"] == "y"
        assert watcher.reconnects == 1
