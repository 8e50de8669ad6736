"""Encodings in isolation: what bytes a value becomes and how it comes back."""

from __future__ import annotations

import base64
import io
import json

import numpy
import pandas
import pyarrow
import pyarrow.ipc
import pytest

import labsocket
from labsocket import encodings


def round_trip(value, encoding=None, allow_pickle=False):
    tag, fields = encodings.encode(value, encoding)
    reply = {"name": "v", "encoding": tag, **fields}
    return tag, encodings.decode(json.loads(json.dumps(reply)), allow_pickle=allow_pickle)


def test_json_is_the_default_for_plain_values() -> None:
    value = {"a": [1, 2.5, None, True, "x"], "nan": float("inf")}
    assert round_trip(value) == ("json", value)


def test_numpy_arrays_become_npy_that_numpy_reads_without_pickle() -> None:
    array = numpy.arange(12, dtype="float32").reshape(3, 4)
    tag, fields = encodings.encode(array)
    assert tag == "npy"
    raw = base64.b64decode(fields["data"])
    assert raw.startswith(b"\x93NUMPY")  # the .npy magic every npy reader checks
    numpy.testing.assert_array_equal(numpy.load(io.BytesIO(raw), allow_pickle=False), array)
    _, back = round_trip(array)
    assert back.dtype == numpy.float32
    numpy.testing.assert_array_equal(back, array)


def test_object_arrays_are_refused_as_npy() -> None:
    with pytest.raises(ValueError):
        encodings.encode(numpy.array([{"a": 1}], dtype=object), "npy")


def test_dataframes_become_arrow_ipc_files() -> None:
    frame = pandas.DataFrame({"t": [0.0, 0.5], "v": [1, 2], "s": ["a", "b"]})
    tag, fields = encodings.encode(frame)
    assert tag == "arrow"
    raw = base64.b64decode(fields["data"])
    assert raw.startswith(b"ARROW1")  # the Arrow IPC file magic
    table = pyarrow.ipc.open_file(pyarrow.BufferReader(raw)).read_all()
    assert table.column_names[:3] == ["t", "v", "s"]
    _, back = round_trip(frame)
    pandas.testing.assert_frame_equal(back, frame)


def test_parquet_on_request() -> None:
    frame = pandas.DataFrame({"v": [1.5, 2.5]})
    tag, fields = encodings.encode(frame, "parquet")
    assert base64.b64decode(fields["data"]).startswith(b"PAR1")
    pandas.testing.assert_frame_equal(round_trip(frame, "parquet")[1], frame)


def test_pickle_only_when_asked_and_never_unpickled_without_consent() -> None:
    value = {1, 2, 3}
    with pytest.raises(labsocket.EncodingError, match="encoding='pickle'"):
        encodings.encode(value)
    tag, fields = encodings.encode(value, "pickle")
    reply = {"encoding": tag, **fields}
    with pytest.raises(labsocket.PickleRefused, match="allow_pickle=True"):
        encodings.decode(reply)
    assert encodings.decode(reply, allow_pickle=True) == value


def test_unknown_tags_pass_through_as_encoded_bytes() -> None:
    blob = labsocket.Encoded("image/png", b"\x89PNG...")
    tag, fields = encodings.encode(blob)
    assert tag == "image/png"
    back = encodings.decode({"encoding": tag, **fields})
    assert back == blob
    with pytest.raises(labsocket.EncodingError, match="unknown encoding 'hdf5'"):
        encodings.encode([1], "hdf5")
