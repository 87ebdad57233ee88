#!/usr/bin/env python3
"""A large JUnit XML report for benchmarks: N testcases (default 200 000) in suites of
500, pytest-like (classname = dotted module path, time with 3 decimals, a timestamp per
suite), about 5 % failures with a multi-line traceback, 3 % skipped, 1 % errors, and a
short system-out on every 20th case. About 27 MB for 200 000 cases.

Usage: gen_junit.py OUT.xml [N]
"""

import random
import sys
from xml.sax.saxutils import escape, quoteattr


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
    rnd = random.Random(42)
    per_suite = 500
    with open(out, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?>\n')
        f.write(f'<testsuites name="bench" tests="{n}">\n')
        for s in range(0, n, per_suite):
            count = min(per_suite, n - s)
            f.write(
                f'<testsuite name="suite{s // per_suite}" tests="{count}" '
                f'timestamp="2026-11-22T10:{(s // per_suite) % 60:02d}:00.000000+00:00" '
                f'hostname="ci-worker-{s % 7}">\n'
            )
            for i in range(s, s + count):
                mod = f"pkg{i % 40}.sub{i % 13}.test_mod{i % 97}"
                cls = f"{mod}.TestCase{i % 11}"
                name = f"test_case_{i}[param-{i % 5}]"
                t = f"{rnd.random() * 2:.3f}"
                head = f"<testcase classname={quoteattr(cls)} name={quoteattr(name)} time=\"{t}\""
                roll = rnd.random()
                if roll < 0.05:
                    tb = "\n".join(
                        f'  File "/src/{mod.replace(".", "/")}.py", line {10 + k}, in helper_{k}\n    value = compute(x, y)'
                        for k in range(6)
                    )
                    f.write(
                        f"{head}><failure message={quoteattr(f'AssertionError: {i} != {i + 1}')} "
                        f'type="AssertionError">{escape("Traceback (most recent call last):" + chr(10) + tb + chr(10) + f"AssertionError: {i} != {i + 1}")}</failure>'
                    )
                elif roll < 0.06:
                    f.write(
                        f'{head}><error message="failed on setup with &quot;OSError: no fixture&quot;">'
                        f"{escape('fixture setup failed <here> & there')}</error>"
                    )
                elif roll < 0.09:
                    f.write(f'{head}><skipped type="pytest.skip" message="not on this platform"/>')
                else:
                    f.write(f"{head}>" if i % 20 == 0 else f"{head}/>\n")
                    if i % 20 != 0:
                        continue
                if i % 20 == 0:
                    f.write(f"<system-out>{escape(f'log line one for {i}' + chr(10) + 'log line two &amp; more')}</system-out>")
                f.write("</testcase>\n")
            f.write("</testsuite>\n")
        f.write("</testsuites>\n")


if __name__ == "__main__":
    main()
