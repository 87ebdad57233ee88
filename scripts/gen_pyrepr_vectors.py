#!/usr/bin/env python3
"""Writes testdata/pyrepr/floats.txt: doubles (hex bits) and CPython's repr() of each."""
import random
import struct
import sys

rnd = random.Random(20261122)
lines = []


def add(x):
    if x != x or x in (float('inf'), float('-inf')):
        return
    bits = struct.unpack('<Q', struct.pack('<d', x))[0]
    lines.append(f"{bits:016x} {x!r}")


for _ in range(3000):
    add(struct.unpack('<d', struct.pack('<Q', rnd.getrandbits(64)))[0])
for _ in range(1500):  # exact quarters/halves/eighths with 15-17 digits: shortest-digit ties
    add(rnd.randrange(2**49, 2**53) / rnd.choice([2, 4, 8]))
for _ in range(1000):  # short decimals as ujson writes them
    add(round(rnd.random() * 10 ** rnd.randint(-6, 6), rnd.randint(0, 10)))
for _ in range(500):  # near the repr switch points 1e-4, 1e-5, 1e16
    add(rnd.choice([1e-4, 1e-5, 1e16, 1e15]) * rnd.uniform(0.5, 2.0))
for x in (1.5371780395507812, 750139179972557.25, 0.0, -0.0, 5e-324, 1.7976931348623157e308):
    add(x)
open('testdata/pyrepr/floats.txt', 'w').write(
    "# IEEE-754 bits (hex) and CPython %s repr(); made by scripts/gen_pyrepr_vectors.py\n"
    % sys.version.split()[0] + "\n".join(lines) + "\n")
