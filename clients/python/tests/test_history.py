"""History (SPEC §8) from Python against the real server: ``Client.history`` columns,
``history_frame`` as a pandas DataFrame, and the SQLite file read with ``sqlite3`` and
pandas while the server keeps writing it."""

from __future__ import annotations

import datetime
import sqlite3
import threading
from pathlib import Path

import numpy
import pandas

import labsocket
from harness import LabServer, wait_until

T0 = 1_795_000_000.0


def _sqlite_file(server: LabServer) -> Path:
    return server.folder / "labsocket-data" / "plugins" / "history" / "history.sqlite3"


def test_history_columns_keep_their_types_and_feed_numpy(server: LabServer) -> None:
    with labsocket.Client(port=server.native_port) as lab:
        for i, y in enumerate([7, 2.5, 1.0, "on", True, None]):
            lab.set_point("typed", (i, y), timestamp=T0 + i)
        for i in range(100):
            lab.set_point("ramp", (i, i * 0.5), timestamp=T0 + i)
        lab.call("history.flush")
        columns = lab.history(["typed", "ramp", "never"], T0, T0 + 200)
        assert columns["typed"]["y"] == [7, 2.5, 1.0, "on", True, None]
        assert isinstance(columns["typed"]["y"][0], int)
        assert isinstance(columns["typed"]["y"][2], float)
        assert columns["typed"]["time"] == [T0 + i for i in range(6)]
        assert columns["never"] == {"time": [], "x": [], "y": []}
        ramp = numpy.asarray(columns["ramp"]["y"])
        assert ramp.dtype == numpy.float64 and ramp.shape == (100,)
        assert ramp[-1] == 49.5
        # datetimes work as bounds, and max_points downsamples (M4 keeps the ends).
        start = datetime.datetime.fromtimestamp(T0, tz=datetime.timezone.utc)
        small = lab.history("ramp", start, T0 + 99, max_points=8)["ramp"]
        assert 2 <= len(small["time"]) <= 8
        assert small["time"][0] == T0 and small["time"][-1] == T0 + 99


def test_history_frame_is_a_dataframe(server: LabServer) -> None:
    with labsocket.Client(port=server.native_port) as lab:
        for i in range(5):
            lab.set_point("a", (i, float(i)), timestamp=T0 + i)
            lab.set_point("b", (i, 10 * i), timestamp=T0 + i + 0.5)
        lab.call("history.flush")
        frame = lab.history_frame(["a", "b"], T0, T0 + 10)
        assert list(frame.columns) == ["codename", "time", "x", "y"]
        assert len(frame) == 10
        assert frame["time"].dt.tz is not None
        assert frame["time"].iloc[0] == pandas.Timestamp(T0, unit="s", tz="UTC")
        pivot = frame.pivot_table(index="codename", values="y", aggfunc="sum")
        assert pivot.loc["a", "y"] == 10.0 and pivot.loc["b", "y"] == 100
        empty = lab.history_frame("nothing", T0, T0 + 10)
        assert len(empty) == 0


def test_the_sqlite_file_is_readable_while_the_server_writes(server: LabServer) -> None:
    path = _sqlite_file(server)
    wait_until(path.exists, "the history file")
    stop = threading.Event()
    written = []

    def writer() -> None:
        with labsocket.Client(port=server.native_port) as lab:
            i = 0
            while not stop.is_set():
                lab.set_point("live", (i, i), timestamp=T0 + i)
                written.append(i)
                i += 1

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        # Rows appear while the writer keeps going; reading never blocks it.
        def enough_rows() -> bool:
            count = con.execute(
                "SELECT count(*) FROM history WHERE codename = 'live'"
            ).fetchone()[0]
            return count >= 200

        wait_until(enough_rows, "rows in the SQLite file")
        frame = pandas.read_sql(
            "SELECT time, x, y FROM history WHERE codename = ? AND time >= ? ORDER BY time",
            con,
            params=("live", T0),
        )
        assert len(frame) >= 200
        assert (frame["y"].diff().dropna() == 1).all()
        assert frame["time"].iloc[0] == T0
        con.close()
    finally:
        stop.set()
        thread.join(timeout=20)
    assert len(written) >= 200
