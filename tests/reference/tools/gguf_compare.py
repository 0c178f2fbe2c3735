#!/usr/bin/python3
"""Compares the tensors of two GGUF files (F32 / F16 / BF16) value for value.

Prints one JSON object: {"tensors": N, "differ": [names whose values are not identical],
"only_a": [...], "only_b": [...], "types_b": {name: ggml type id}}. Used by
hf_convert.test.mjs with hf_writer.py's reader (independent of r1).
With --round-to-b, A's values are first rounded to B's type where B stores BF16 or F16
(the exact expectation for a lossy 16-bit conversion of A).
Usage: gguf_compare.py A.gguf B.gguf [--round-to-b]
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hf_writer import Gguf, bf16_bits_to_f32, to_bf16_bits  # noqa: E402

a, b = Gguf(sys.argv[1]), Gguf(sys.argv[2])
round_to_b = "--round-to-b" in sys.argv[3:]
common = sorted(set(a.tensors) & set(b.tensors))


def a_value(n):
    v = a.tensors[n][0]
    if round_to_b and b.types[n] == 30:
        return bf16_bits_to_f32(to_bf16_bits(v)).reshape(v.shape)
    if round_to_b and b.types[n] == 1:
        return v.astype("<f2").astype(np.float32)
    return v


differ = [n for n in common
          if a.tensors[n][0].shape != b.tensors[n][0].shape or not np.array_equal(a_value(n), b.tensors[n][0])]
print(json.dumps({"tensors": len(common), "differ": differ, "only_a": sorted(set(a.tensors) - set(b.tensors)),
                  "only_b": sorted(set(b.tensors) - set(a.tensors)), "types_b": b.types}))
