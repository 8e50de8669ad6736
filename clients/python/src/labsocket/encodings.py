"""How Python values become workspace variables and back.

A variable is stored with an *encoding tag*; the server keeps the tag and the bytes and
never decodes them, so every client decodes for itself. The tags:

``json``
    Plain JSON values (``None``, bools, numbers including NaN/Infinity, strings, lists,
    dicts with string keys). Readable from any language. Tuples come back as lists.
``npy``
    A numpy array in the ``.npy`` format (``numpy.save``, ``allow_pickle=False``). Rust
    (``ndarray-npy``, ``npyz``) and JavaScript (``npyjs``) read it.
``arrow``
    A pandas DataFrame (or pyarrow Table) as an Arrow IPC *file* (Feather v2). Every Arrow
    implementation reads it (Rust ``arrow-ipc``, JavaScript ``apache-arrow``).
``parquet``
    The same as Parquet, smaller on disk for large tables.
``pickle``
    Anything Python can pickle. Python only, and **unsafe to load from people you do not
    trust**: unpickling can run arbitrary code. Used only when the caller asks for it, and
    decoded only with ``allow_pickle=True``.

Any other tag is passed through as :class:`Encoded` bytes, so a client can store and
fetch formats this module does not know.
"""

from __future__ import annotations

import base64
import importlib
import io
import json
import pickle
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from .errors import EncodingError, PickleRefused

JSON = "json"
PICKLE = "pickle"
NPY = "npy"
ARROW = "arrow"
PARQUET = "parquet"

KNOWN = (JSON, PICKLE, NPY, ARROW, PARQUET)


@dataclass(frozen=True)
class Encoded:
    """Bytes with their encoding tag, stored and fetched without (de)coding."""

    encoding: str
    data: bytes

    def __repr__(self) -> str:
        return f"Encoded(encoding={self.encoding!r}, data=<{len(self.data)} bytes>)"


def _numpy() -> Any:
    return _optional("numpy")


def _pandas() -> Any:
    return _optional("pandas")


def _pyarrow() -> Any:
    return _optional("pyarrow")


def _optional(name: str) -> Any:
    """The module ``name`` if it is installed, else None (it is an optional dependency)."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _require(module: Any, package: str, encoding: str) -> Any:
    if module is None:
        raise EncodingError(
            f"the {encoding!r} encoding needs {package}: pip install {package}"
        )
    return module


def choose(value: Any) -> str:
    """The encoding :meth:`Client.set` uses when none is given."""
    if isinstance(value, Encoded):
        return value.encoding
    numpy = _numpy()
    if numpy is not None and isinstance(value, numpy.ndarray):
        return NPY
    pandas = _pandas()
    if pandas is not None and isinstance(value, pandas.DataFrame):
        if _pyarrow() is None:
            raise EncodingError(
                "a DataFrame is stored as Arrow, which needs pyarrow (pip install pyarrow);"
                " or pass encoding='pickle' for Python-only readers"
            )
        return ARROW
    pyarrow = _pyarrow()
    if pyarrow is not None and isinstance(value, pyarrow.Table):
        return ARROW
    try:
        json.dumps(value)
    except (TypeError, ValueError) as err:
        raise EncodingError(
            f"a {type(value).__name__} is not JSON ({err}); pass encoding='pickle' to store"
            " it for Python readers, or convert it to a numpy array or DataFrame"
        ) from None
    return JSON


def encode(value: Any, encoding: Optional[str] = None) -> Tuple[str, Dict[str, Any]]:
    """``(encoding, fields)`` for a ``workspace.set`` request.

    ``fields`` is ``{"value": v}`` for JSON and ``{"data": base64}`` otherwise.
    """
    encoding = encoding or choose(value)
    if isinstance(value, Encoded):
        if value.encoding != encoding:
            raise EncodingError(
                f"the value is already {value.encoding!r}-encoded, not {encoding!r}"
            )
        return encoding, {"data": _b64(value.data)}
    if encoding == JSON:
        try:
            json.dumps(value)
        except (TypeError, ValueError) as err:
            raise EncodingError(f"not JSON: {err}") from None
        return JSON, {"value": value}
    return encoding, {"data": _b64(encode_bytes(value, encoding))}


def encode_parts(
    value: Any, encoding: Optional[str] = None
) -> Tuple[str, Dict[str, Any], Optional[List[memoryview]]]:
    """``(encoding, fields, parts)``: ``fields`` is ``{"value": v}`` for JSON (``parts``
    None); for every other encoding ``parts`` are the bytes to store, in order, and
    ``fields`` is empty (the caller sends them as base64 or as a binary frame). A
    C-contiguous numpy array is not copied: its parts are the ``.npy`` header and a view
    of the array's own memory."""
    encoding = encoding or choose(value)
    if isinstance(value, Encoded):
        if value.encoding != encoding:
            raise EncodingError(
                f"the value is already {value.encoding!r}-encoded, not {encoding!r}"
            )
        return encoding, {}, [memoryview(value.data).cast("B")]
    if encoding == JSON:
        tag, fields = encode(value, JSON)
        return tag, fields, None
    if encoding == NPY:
        numpy = _require(_numpy(), "numpy", NPY)
        array = numpy.asarray(value)
        if array.flags.c_contiguous and not array.dtype.hasobject:
            body = memoryview(array.reshape(-1).view(numpy.uint8))
            return NPY, {}, [memoryview(_npy_header(numpy, array)), body]
    return encoding, {}, [memoryview(encode_bytes(value, encoding))]


def _npy_header(numpy: Any, array: Any) -> bytes:
    """The ``.npy`` header ``numpy.save`` writes before ``array``'s bytes (format 1.0,
    or 2.0 when the header does not fit 1.0)."""
    fmt = numpy.lib.format
    header = fmt.header_data_from_array_1_0(array)
    out = io.BytesIO()
    try:
        fmt.write_array_header_1_0(out, header)
    except ValueError:
        out = io.BytesIO()
        fmt.write_array_header_2_0(out, header)
    return out.getvalue()


def _load_npy(numpy: Any, data: Any) -> Any:
    """``numpy.load`` of ``.npy`` bytes; a writable ``bytearray`` (a binary reply) is
    used in place, without a copy."""
    if isinstance(data, bytearray):
        fmt = numpy.lib.format
        head = io.BytesIO(memoryview(data)[: 1 << 20])
        version = fmt.read_magic(head)
        read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, fortran, dtype = read_header(head)
        if not dtype.hasobject:
            count = 1
            for dim in shape:
                count *= dim
            flat = numpy.frombuffer(data, dtype=dtype, count=count, offset=head.tell())
            return flat.reshape(shape, order="F" if fortran else "C")
    return numpy.load(io.BytesIO(data), allow_pickle=False)


def encode_bytes(value: Any, encoding: str) -> bytes:
    """The bytes of ``value`` in a binary encoding."""
    if encoding == PICKLE:
        return pickle.dumps(value, protocol=4)
    if encoding == NPY:
        numpy = _require(_numpy(), "numpy", NPY)
        out = io.BytesIO()
        numpy.save(out, numpy.asarray(value), allow_pickle=False)
        return out.getvalue()
    if encoding in (ARROW, PARQUET):
        pyarrow = _require(_pyarrow(), "pyarrow", encoding)
        table = value
        if not isinstance(table, pyarrow.Table):
            try:
                table = pyarrow.Table.from_pandas(value)
            except (TypeError, ValueError, pyarrow.ArrowException) as err:
                raise EncodingError(f"cannot store this as {encoding}: {err}") from None
        out = io.BytesIO()
        if encoding == ARROW:
            with _optional("pyarrow.ipc").new_file(out, table.schema) as writer:
                writer.write_table(table)
        else:
            _optional("pyarrow.parquet").write_table(table, out)
        return out.getvalue()
    raise EncodingError(
        f"unknown encoding {encoding!r}: use one of {', '.join(KNOWN)},"
        " or pass an Encoded(tag, bytes) value"
    )


def decode(reply: Dict[str, Any], allow_pickle: bool = False) -> Any:
    """The Python value of a ``workspace.get`` reply."""
    encoding = reply.get("encoding", JSON)
    if encoding == JSON:
        return reply.get("value")
    data = reply.get("data")
    if isinstance(data, (bytes, bytearray)):
        # A binary reply: the raw bytes, not base64.
        return decode_bytes(encoding, data, allow_pickle)
    if not isinstance(data, str):
        raise EncodingError(f"the {encoding!r} variable came without base64 data")
    return decode_bytes(encoding, base64.b64decode(data), allow_pickle)


def decode_bytes(encoding: str, data: bytes, allow_pickle: bool = False) -> Any:
    """The Python value of ``data`` in ``encoding`` (unknown tags: :class:`Encoded`)."""
    if encoding == PICKLE:
        if not allow_pickle:
            raise PickleRefused(
                "this variable is a pickle; unpickling runs code chosen by whoever stored"
                " it, so pass allow_pickle=True only if you trust them"
            )
        return pickle.loads(data)
    if encoding == NPY:
        return _load_npy(_require(_numpy(), "numpy", NPY), data)
    if encoding in (ARROW, PARQUET):
        pyarrow = _require(_pyarrow(), "pyarrow", encoding)
        source = pyarrow.BufferReader(data)
        if encoding == ARROW:
            table = _optional("pyarrow.ipc").open_file(source).read_all()
        else:
            table = _optional("pyarrow.parquet").read_table(source)
        return table.to_pandas() if _pandas() is not None else table
    if encoding == JSON:
        return json.loads(data)
    return Encoded(encoding, bytes(data))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
