"""Plain-data encoding of values that cross from student code to the grader.

Student code runs in a separate process, and the grader must never run code
that the student process sends.  Values therefore travel as a JSON header
plus raw array bytes: numeric and boolean numpy arrays, Python and numpy
numbers, booleans, strings, None and tuples of them.  Anything else is sent
as an ``Unsupported`` description (its type name and a short repr), which
the comparison reports as a wrong type.  Decoding only ever calls
``json.loads`` and ``np.frombuffer`` with a checked numeric dtype, so a
hostile payload can at worst be rejected as invalid.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass

import numpy as np

# Array dtypes that may cross: booleans, integers, floats and complex numbers.
ALLOWED_DTYPE_KINDS = "biufc"
MAX_ARRAY_BYTES = 64 * 1024 * 1024
MAX_TEXT_CHARS = 2000
MAX_DEPTH = 4


class WireError(ValueError):
    """A payload from the student process that the grader cannot accept."""


@dataclass(frozen=True)
class Unsupported:
    """A returned value whose type cannot cross as plain data."""

    type_name: str
    summary: str


def _shorten(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _type_name(value) -> str:
    kind = type(value)
    module = getattr(kind, "__module__", "?")
    name = getattr(kind, "__qualname__", getattr(kind, "__name__", "?"))
    return name if module == "builtins" else f"{module}.{name}"


def _describe_unsupported(value) -> dict:
    try:
        summary = _shorten(repr(value), 200)
    except BaseException:  # a hostile __repr__ must not stop the encoding
        summary = "<repr failed>"
    return {"t": "unsupported", "type": _type_name(value), "summary": summary}


def _encode_item(value, buffers: list, depth: int) -> dict:
    # Exact type checks, so that subclasses such as np.matrix or a bool
    # subclass with a lying __eq__ are reported instead of passing through.
    kind = type(value)
    if value is None:
        return {"t": "none"}
    if kind is bool:
        return {"t": "bool", "v": value}
    if kind is int:
        return {"t": "int", "v": str(value)}
    if kind is float:
        return {"t": "float", "v": value.hex()}
    if kind is str:
        return {"t": "str", "v": _shorten(value)}
    if kind is tuple:
        if depth >= MAX_DEPTH:
            return _describe_unsupported(value)
        return {"t": "tuple", "items": [_encode_item(item, buffers, depth + 1) for item in value]}
    if kind is np.ndarray or isinstance(value, np.generic):
        is_scalar = isinstance(value, np.generic)
        array = np.asarray(value) if is_scalar else value
        if type(array) is not np.ndarray or array.dtype.kind not in ALLOWED_DTYPE_KINDS:
            return _describe_unsupported(value)
        if array.nbytes > MAX_ARRAY_BYTES:
            return {"t": "unsupported", "type": "numpy.ndarray", "summary": f"array of {array.nbytes} bytes, over the limit"}
        contiguous = array if array.flags.c_contiguous else array.copy(order="C")
        buffers.append(contiguous.tobytes())
        return {
            "t": "scalar" if is_scalar else "array",
            "dtype": contiguous.dtype.str,
            "shape": list(contiguous.shape),
            "buffer": len(buffers) - 1,
        }
    return _describe_unsupported(value)


def encode(value) -> bytes:
    """Encode ``value`` as a JSON header followed by raw array buffers."""
    buffers: list = []
    header = _encode_item(value, buffers, 0)
    header_bytes = json.dumps({"value": header, "sizes": [len(b) for b in buffers]}).encode()
    return struct.pack("<Q", len(header_bytes)) + header_bytes + b"".join(buffers)


def _decode_item(item, buffers: list, depth: int):
    if not isinstance(item, dict) or depth > MAX_DEPTH + 1:
        raise WireError("malformed value header")
    tag = item.get("t")
    if tag == "none":
        return None
    if tag == "bool":
        return bool(item["v"])
    if tag == "int":
        text = str(item["v"])
        if len(text) > 400:
            raise WireError("integer too large")
        return int(text)
    if tag == "float":
        return float.fromhex(str(item["v"]))
    if tag == "str":
        return _shorten(str(item["v"]))
    if tag == "tuple":
        return tuple(_decode_item(part, buffers, depth + 1) for part in item["items"])
    if tag == "unsupported":
        return Unsupported(_shorten(str(item["type"]), 200), _shorten(str(item["summary"]), 200))
    if tag in ("array", "scalar"):
        dtype = np.dtype(str(item["dtype"])[:8])
        if dtype.kind not in ALLOWED_DTYPE_KINDS or dtype.fields is not None or dtype.subdtype is not None:
            raise WireError(f"dtype {dtype} may not cross as plain data")
        shape = tuple(int(size) for size in item["shape"])
        if any(size < 0 for size in shape) or len(shape) > 32:
            raise WireError("invalid array shape")
        raw = buffers[int(item["buffer"])]
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if count * dtype.itemsize != len(raw):
            raise WireError("array buffer does not match its shape")
        array = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
        return array[()] if tag == "scalar" else array
    raise WireError(f"unknown value tag {tag!r}")


def decode(payload: bytes):
    """Decode a payload made by :func:`encode`; raise WireError if it is invalid."""
    try:
        (header_size,) = struct.unpack_from("<Q", payload, 0)
        header = json.loads(payload[8 : 8 + header_size].decode())
        sizes = [int(size) for size in header["sizes"]]
        if sum(sizes) != len(payload) - 8 - header_size or any(size < 0 for size in sizes):
            raise WireError("payload size does not match its header")
        buffers = []
        offset = 8 + header_size
        for size in sizes:
            buffers.append(payload[offset : offset + size])
            offset += size
        return _decode_item(header["value"], buffers, 0)
    except WireError:
        raise
    except (
        KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError, MemoryError,
        struct.error, UnicodeDecodeError, RecursionError,
    ) as error:
        raise WireError(f"invalid payload: {error}") from None


def to_plain(value):
    """Return ``value`` as the grader would receive it from a student process."""
    return decode(encode(value))
