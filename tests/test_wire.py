"""The plain-data channel between the student process and the grader."""

import struct

import numpy as np
import pytest

from autograder.wire import Unsupported, WireError, decode, encode, to_plain


@pytest.mark.parametrize(
    "value",
    [None, True, 3, 2.5, "text", (1, 2.0, (True, "a")), np.float64(1.5), np.int32(7), np.bool_(False)],
)
def test_scalars_round_trip(value):
    assert to_plain(value) == value
    assert type(to_plain(value)) is type(value)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64, np.uint8, np.bool_, np.complex128])
def test_arrays_round_trip(dtype):
    array = np.arange(12).reshape(3, 4).astype(dtype)
    decoded = to_plain(array)
    assert decoded.dtype == array.dtype
    np.testing.assert_array_equal(decoded, array)


def test_noncontiguous_array_round_trips():
    array = np.arange(20.0).reshape(4, 5)[:, ::2]
    np.testing.assert_array_equal(to_plain(array), array)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
@pytest.mark.parametrize("value", [[1, 2], {"a": 1}, np.array([1, "a"], dtype=object), np.matrix([[1.0]]), object()])
def test_other_types_become_unsupported(value):
    assert isinstance(to_plain(value), Unsupported)


def test_object_dtype_payload_rejected():
    payload = bytearray(encode(np.zeros(2)))
    forged = payload.replace(b'"<f8"', b'"|O8"')
    with pytest.raises(WireError):
        decode(bytes(forged))


def test_truncated_payload_rejected():
    payload = encode(np.zeros(4))
    with pytest.raises(WireError):
        decode(payload[:-3])


def test_garbage_rejected():
    with pytest.raises(WireError):
        decode(struct.pack("<Q", 5) + b"nope!")


def test_hostile_repr_does_not_escape():
    class Hostile:
        def __repr__(self):
            raise SystemExit("no")

    assert to_plain(Hostile()).summary == "<repr failed>"


@pytest.mark.parametrize("sizes", [b"[Infinity]", b"[NaN]", b"[-1]", b'["x"]', b"[1e400]"])
def test_invalid_sizes_rejected(sizes):
    header = b'{"sizes": ' + sizes + b', "value": {"t": "none"}}'
    payload = struct.pack("<Q", len(header)) + header
    with pytest.raises(WireError):
        decode(payload)
