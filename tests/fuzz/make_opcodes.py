"""Writes the whole opcode table of the running Python (3.11 or 3.12) for
fuzz_lower.c, which decodes fuzzed bytecode with it instead of a fixture's
table of only the opcodes that fixture uses:

    python3.11 tests/fuzz/make_opcodes.py
    python3.12 tests/fuzz/make_opcodes.py

The lines are those of the fixtures (tests/c/lower/make_fixtures.py):
`opcode NUMBER NAME CACHE_ENTRIES`.
"""

import dis
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    minor = sys.version_info[1]
    path = os.path.join(HERE, "opcodes", f"py3{minor}.opcodes")
    lines = [f"python {minor}"]
    for op, name in enumerate(dis.opname[:256]):  # 3.12 lists pseudo-ops past 255
        if not name.startswith("<"):
            lines.append(f"opcode {op} {name} {dis._inline_cache_entries[op]}")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    print(f"{os.path.relpath(path)}: {len(lines) - 1} opcodes")


if __name__ == "__main__":
    sys.exit(main())
