"""The wire format between the trusted grader and the sandbox worker: data only, never code.

A frame is ``MAGIC | u32 header length | header (JSON, UTF-8) | u32 blob count | (u64 length, bytes)*``.
The header is a JSON document in which non-JSON values are tagged objects:

============================  =============================================
``{"__t": "tuple", "v": []}``  a tuple
``{"__t": "dict", "v": []}``   a dict, as a list of ``[key, value]`` pairs
``{"__t": "nd", ...}``         a NumPy array of a numeric or bool dtype, its bytes in blob ``i``
``{"__t": "float", "v": s}``   ``nan``, ``inf`` or ``-inf``
``{"__t": "handle", ...}``     an object that stays in the worker (id, type names, callable)
``{"__t": "ref", "v": s}``     a function named by a string, resolved by the receiver's own table
============================  =============================================

Decoding builds only ``None``, bools, ints, floats, strings, lists, tuples, dicts, NumPy arrays and
:class:`Handle`/:class:`Ref` records: JSON parsing plus ``numpy.frombuffer`` of a whitelisted dtype.
No pickle, no ``eval``, no import by name, so a crafted message cannot run code in the receiver.
"""

from __future__ import annotations

import json
import math
import re
import struct
from dataclasses import dataclass, field

import numpy as np

from autograder.errors import AutograderError

MAGIC = b"AGW1"
MAX_FRAME_BYTES = 256 * 2**20
MAX_DEPTH = 64
MAX_HEADER_BYTES = 32 * 2**20  # the JSON part of a frame (arrays travel as blobs beside it)
MAX_NODES = 2**18  # JSON values in a header, counted before any object is built
MAX_BLOBS = 2**14  # arrays in one frame
_ALLOWED_KINDS = "biufc"  # bool, int, uint, float, complex
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')


class WireError(AutograderError, ValueError):
    """A frame that is malformed, too large or holds a value the format does not carry."""


@dataclass(frozen=True)
class Handle:
    """An object that lives in the worker, named by id; ``types`` lists its class and bases."""

    id: int
    types: tuple[str, ...] = ()
    callable: bool = False
    repr: str = ""


@dataclass(frozen=True)
class Ref:
    """A function named by a string that the receiver looks up in its own table of allowed names."""

    name: str


def map_items(value, leaf):
    """``value`` with every item of its lists, tuples and dicts (values, at any depth) replaced by
    ``leaf(item)``: how both sides swap handles and references for what they stand for."""
    if isinstance(value, list):
        return [map_items(v, leaf) for v in value]
    if isinstance(value, tuple):
        return tuple(map_items(v, leaf) for v in value)
    if isinstance(value, dict):
        return {k: map_items(v, leaf) for k, v in value.items()}
    return leaf(value)


@dataclass
class _Encoder:
    to_handle: object = None  # callable(obj) -> Handle, or None to refuse unknown objects
    blobs: list[bytes] = field(default_factory=list)

    def encode(self, obj, depth: int = 0):
        if depth > MAX_DEPTH:
            raise WireError(f"value nested deeper than {MAX_DEPTH} levels")
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int) and not isinstance(obj, bool):
            return int(obj)
        if isinstance(obj, float):
            return obj if math.isfinite(obj) else {"__t": "float", "v": repr(obj)}
        if isinstance(obj, (np.ndarray, np.generic)) and obj.dtype.kind in _ALLOWED_KINDS:
            arr = np.ascontiguousarray(obj).reshape(np.shape(obj))  # ascontiguousarray makes 0-d 1-d
            self.blobs.append(arr.tobytes())
            node = {"__t": "nd", "i": len(self.blobs) - 1, "dtype": arr.dtype.str, "shape": list(arr.shape)}
            if isinstance(obj, np.generic):
                node["scalar"] = True  # a NumPy scalar (np.float32(1.5)) comes back as one, not as a 0-d array
            return node
        if isinstance(obj, list):
            return [self.encode(v, depth + 1) for v in obj]
        if isinstance(obj, tuple):
            return {"__t": "tuple", "v": [self.encode(v, depth + 1) for v in obj]}
        if isinstance(obj, dict):
            return {"__t": "dict", "v": [[self.encode(k, depth + 1), self.encode(v, depth + 1)] for k, v in obj.items()]}
        if isinstance(obj, Handle):
            return {"__t": "handle", "id": obj.id, "types": list(obj.types), "callable": obj.callable, "repr": obj.repr}
        if isinstance(obj, Ref):
            return {"__t": "ref", "v": obj.name}
        if self.to_handle is not None:
            return self.encode(self.to_handle(obj), depth)
        raise WireError(f"cannot send a {type(obj).__name__} (only data: numbers, strings, lists, tuples, dicts, arrays)")


def encode(obj, *, to_handle=None, limit: int = MAX_FRAME_BYTES) -> bytes:
    """Serialize ``obj`` to one frame. ``to_handle(obj)`` turns objects that aren't data into Handles."""
    enc = _Encoder(to_handle=to_handle)
    header = json.dumps(enc.encode(obj), allow_nan=False, separators=(",", ":")).encode("utf-8")
    parts = [MAGIC, struct.pack(">I", len(header)), header, struct.pack(">I", len(enc.blobs))]
    for blob in enc.blobs:
        parts += [struct.pack(">Q", len(blob)), blob]
    frame = b"".join(parts)
    if len(frame) > limit:
        raise WireError(f"message of {len(frame) / 2**20:.1f} MiB exceeds the limit of {limit / 2**20:.0f} MiB")
    return frame


def _decode_value(node, blobs: list[bytes], depth: int = 0):
    if depth > MAX_DEPTH:
        raise WireError(f"value nested deeper than {MAX_DEPTH} levels")
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        return [_decode_value(v, blobs, depth + 1) for v in node]
    if not isinstance(node, dict):
        raise WireError(f"unexpected JSON value of type {type(node).__name__}")
    tag = node.get("__t")
    if tag == "tuple":
        return tuple(_decode_value(v, blobs, depth + 1) for v in _list(node, "v"))
    if tag == "dict":
        out = {}
        for pair in _list(node, "v"):
            if not isinstance(pair, list) or len(pair) != 2:
                raise WireError("dict entries must be [key, value] pairs")
            key = _decode_value(pair[0], blobs, depth + 1)
            if not isinstance(key, (str, int, float, bool, tuple)) and key is not None:
                raise WireError(f"unhashable dict key of type {type(key).__name__}")
            out[key] = _decode_value(pair[1], blobs, depth + 1)
        return out
    if tag == "float":
        text = node.get("v")
        if text not in ("nan", "inf", "-inf"):
            raise WireError(f"bad float {text!r}")
        return float(text)
    if tag == "nd":
        return _decode_array(node, blobs)
    if tag == "handle":
        hid, types = node.get("id"), node.get("types", [])
        if not isinstance(hid, int) or not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            raise WireError("malformed handle")
        return Handle(hid, tuple(types), bool(node.get("callable", False)), str(node.get("repr", ""))[:500])
    if tag == "ref":
        if not isinstance(node.get("v"), str):
            raise WireError("malformed ref")
        return Ref(node["v"])
    raise WireError(f"unknown tag {tag!r}")


def _list(node: dict, key: str) -> list:
    value = node.get(key)
    if not isinstance(value, list):
        raise WireError(f"field {key!r} must be a list")
    return value


def _decode_array(node: dict, blobs: list[bytes]) -> np.ndarray:
    index, shape, dtype_str = node.get("i"), node.get("shape"), node.get("dtype")
    if not isinstance(index, int) or not 0 <= index < len(blobs):
        raise WireError("array refers to a missing blob")
    if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape) or len(shape) > 32:
        raise WireError("malformed array shape")
    if not isinstance(dtype_str, str) or len(dtype_str) > 8:
        raise WireError("malformed dtype")
    try:
        dtype = np.dtype(dtype_str)
    except TypeError as exc:
        raise WireError(f"unknown dtype {dtype_str!r}") from exc
    if dtype.kind not in _ALLOWED_KINDS or dtype.hasobject or dtype.fields is not None:
        raise WireError(f"dtype {dtype_str!r} is not a plain numeric dtype")
    blob = blobs[index]
    if math.prod(shape) * dtype.itemsize != len(blob):
        raise WireError("array bytes do not match its shape and dtype")
    arr = np.frombuffer(blob, dtype=dtype).reshape(shape).copy()
    return arr[()] if node.get("scalar") is True and arr.ndim == 0 else arr


def decode(frame: bytes):
    """Parse one frame made by :func:`encode`; raise WireError on anything else."""
    view = memoryview(frame)
    if bytes(view[:4]) != MAGIC:
        raise WireError("bad magic: not a sandbox frame")
    pos = 4
    (hlen,) = _unpack(">I", view, pos)
    pos += 4
    if hlen > MAX_HEADER_BYTES:
        raise WireError(f"header of {hlen} bytes exceeds the limit of {MAX_HEADER_BYTES}")
    if pos + hlen > len(view):
        raise WireError("truncated header")
    header_at = pos
    pos += hlen
    (count,) = _unpack(">I", view, pos)
    pos += 4
    if count > MAX_BLOBS:
        raise WireError(f"frame holds {count} arrays, more than the limit of {MAX_BLOBS}")
    blobs = []
    for _ in range(count):
        (n,) = _unpack(">Q", view, pos)
        pos += 8
        if pos + n > len(view):
            raise WireError("truncated blob")
        blobs.append(view[pos : pos + n])  # a view: each array is copied once, when it is built
        pos += n
    if pos != len(view):
        raise WireError("trailing bytes after the last blob")
    try:
        text = str(view[header_at : header_at + hlen], "utf-8")  # decoded straight from the frame: no copy of the bytes
    except UnicodeDecodeError as exc:
        raise WireError(f"header is not UTF-8: {exc}") from exc
    # The budget, before any object is built: every JSON value after the first of its container
    # follows a comma, and every container opens with a bracket, so this bounds the values (commas
    # inside strings only make it stricter). A forged [[],[],...] costs its text, never its objects.
    nodes = text.count(",") + text.count("[") + text.count("{") + 1
    if nodes > MAX_NODES:  # commas and brackets inside strings (a source file, printed output) are no values
        for match in _JSON_STRING.finditer(text):
            quoted = match.group()
            nodes -= quoted.count(",") + quoted.count("[") + quoted.count("{")
    if nodes > MAX_NODES:
        raise WireError(f"header holds up to {nodes} values, more than the limit of {MAX_NODES}")
    try:
        tree = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise WireError(f"header is not JSON: {exc}") from exc
    del text
    return _decode_value(tree, blobs)


def _unpack(fmt: str, view: memoryview, pos: int):
    size = struct.calcsize(fmt)
    if pos + size > len(view):
        raise WireError("truncated frame")
    return struct.unpack(fmt, view[pos : pos + size])


def frame_length_from_prefix(prefix: bytes) -> int:
    """Frames travel behind an 8-byte length; this reads it and enforces the size limit."""
    (n,) = struct.unpack(">Q", prefix)
    if n > MAX_FRAME_BYTES:
        raise WireError(f"announced message of {n} bytes exceeds the limit")
    return n
