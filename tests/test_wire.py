"""The wire format between the grader and the sandbox (autograder/sandbox/wire.py): data only,
within a budget. Fast unit tests: no sandbox, no TensorFlow (the end-to-end use of the wire is in
test_isolation.py and test_fairness.py)."""

from __future__ import annotations

import os
import struct
import tracemalloc

import numpy as np
import pytest

from autograder.sandbox import wire


# -- the wire format: data only ------------------------------------------------------------------


def test_wire_round_trip_of_every_kind_of_value():
    value = {"a": [1, 2.5, None, True, "s"], "t": (np.arange(6, dtype=np.int32).reshape(2, 3), float("nan"), float("-inf")), 3: np.float32(1.5)}
    back = wire.decode(wire.encode(value))
    assert back["a"] == [1, 2.5, None, True, "s"]
    np.testing.assert_array_equal(back["t"][0], value["t"][0])
    assert back["t"][0].dtype == np.int32 and np.isnan(back["t"][1]) and back["t"][2] == float("-inf")
    assert back[3] == np.float32(1.5)


def test_wire_refuses_objects_without_a_handle_maker():
    with pytest.raises(wire.WireError):
        wire.encode({"f": print})
    with pytest.raises(wire.WireError):
        wire.encode(np.array([object()], dtype=object))


def _frame(header: dict, blobs: list[bytes] = ()) -> bytes:
    import json

    h = json.dumps(header).encode()
    out = wire.MAGIC + struct.pack(">I", len(h)) + h + struct.pack(">I", len(blobs))
    for b in blobs:
        out += struct.pack(">Q", len(b)) + b
    return out


def test_crafted_frames_cannot_run_code(tmp_path):
    import pickle

    sentinel = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {sentinel}",))

    payload = pickle.dumps(Evil())
    attempts = [
        _frame({"__t": "nd", "i": 0, "dtype": "|O", "shape": [1]}, [payload]),
        _frame({"__t": "nd", "i": 0, "dtype": "V8", "shape": [1]}, [payload[:8]]),
        _frame({"__t": "pickle", "v": payload.hex()}),
        _frame({"__t": "ref", "v": {"__t": "nd"}}),
        _frame({"__t": "nd", "i": 5, "dtype": "<f8", "shape": [1]}),
        _frame({"__t": "nd", "i": 0, "dtype": "<f8", "shape": [1000]}, [b"\0" * 8]),
        _frame({"__t": "dict", "v": [[[1, 2], 3]]}),
        b"not a frame at all",
        _frame({"a": 1})[:-3],
        wire.MAGIC + struct.pack(">I", 5) + b"[[[[[" + struct.pack(">I", 0),
    ]
    deep = {"x": None}
    for _ in range(200):
        deep = {"__t": "tuple", "v": [deep]}
    attempts.append(_frame(deep))
    for frame in attempts:
        with pytest.raises(wire.WireError):
            wire.decode(frame)
    # the same bytes declared as plain floats are just numbers
    n = len(payload) // 8 * 8
    values = wire.decode(_frame({"__t": "nd", "i": 0, "dtype": "<u1", "shape": [n]}, [payload[:n]]))
    assert values.dtype == np.uint8
    assert not sentinel.exists()


def test_announced_size_over_the_limit_is_refused():
    with pytest.raises(wire.WireError):
        wire.frame_length_from_prefix(struct.pack(">Q", wire.MAX_FRAME_BYTES + 1))


# -- 3. the wire decodes within a budget ---------------------------------------------------------


def test_a_forged_frame_of_empty_lists_costs_about_its_size():
    n = 4_000_000
    header = b"[" + b"[]," * (n - 1) + b"[]]"
    frame = wire.MAGIC + struct.pack(">I", len(header)) + header + struct.pack(">I", 0)
    tracemalloc.start()
    try:
        with pytest.raises(wire.WireError, match="values"):
            wire.decode(frame)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * len(frame), f"decoding a {len(frame)} byte frame peaked at {peak} bytes"


def test_frames_within_the_budget_still_decode():
    value = {"xs": list(range(50_000)), "a": np.arange(10.0), "t": ("x,[{", 1)}
    back = wire.decode(wire.encode(value))
    assert back["xs"] == value["xs"] and back["t"] == value["t"]
    np.testing.assert_array_equal(back["a"], value["a"])
    header = b"1"
    oversize = wire.MAGIC + struct.pack(">I", wire.MAX_HEADER_BYTES + 1) + header
    with pytest.raises(wire.WireError, match="exceeds"):
        wire.decode(oversize)
    source = "x = [" + ",".join(["0"] * (wire.MAX_NODES + 10)) + "]\n"  # a large literal in a submitted file
    assert wire.decode(wire.encode({"files": {"m.py": source}}))["files"]["m.py"] == source
    many = wire.MAGIC + struct.pack(">I", 1) + b"1" + struct.pack(">I", wire.MAX_BLOBS + 1)
    with pytest.raises(wire.WireError, match="arrays"):
        wire.decode(many)


def test_wire_keeps_zero_d_arrays_and_numpy_scalars():
    assert wire.decode(wire.encode(np.asarray(3.0))).shape == ()
    back = wire.decode(wire.encode(np.float32(1.5)))
    assert isinstance(back, np.float32) and back == 1.5


def test_map_items_swaps_every_item_at_any_depth_and_keeps_the_containers():
    h1, h2 = wire.Handle(1), wire.Handle(2)
    value = [h1, (3, {"k": [h2, "s"]}), {"x": h1}]
    swapped = wire.map_items(value, lambda v: f"#{v.id}" if isinstance(v, wire.Handle) else v)
    assert swapped == ["#1", (3, {"k": ["#2", "s"]}), {"x": "#1"}]
    assert isinstance(swapped[1], tuple) and isinstance(swapped[1][1]["k"], list)
    assert wire.map_items(h1, lambda v: "leaf") == "leaf"  # a bare value is itself an item
