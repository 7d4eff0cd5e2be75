#!/usr/bin/env python3
"""Functions and files past the size the style asks for (docs/DEVELOPING.md).

  scripts/fnsize.py [--strict] [FILE...]

A function is counted from its opening brace (a '{' alone in column 0,
style(9)) to its closing one, both included.  Over FN_MAX lines (60) for a
function, FILE_MAX (800) for a file under src/ (not src/lib, not cmd/).
Report only; with --strict the exit status is 1 when anything is listed.
"""
import glob
import os
import re
import sys

FN_MAX = int(os.environ.get("FN_MAX", "60"))
FILE_MAX = int(os.environ.get("FILE_MAX", "800"))


def functions(path):
    lines = open(path, encoding="utf-8", errors="replace").read().split("\n")
    i = 0
    while i < len(lines):
        if lines[i] == "{" and i > 0:
            j = i - 1
            while j > 0 and "(" not in lines[j]:
                j -= 1
            m = re.match(r"\s*([A-Za-z_0-9]+)\(", lines[j])
            name = m.group(1) if m else lines[j][:30]
            k = i + 1
            while k < len(lines) and lines[k] != "}":
                k += 1
            yield k - i + 1, name
            i = k
        i += 1


def main(argv):
    strict = "--strict" in argv
    files = [a for a in argv if a != "--strict"] or sorted(
        glob.glob("src/*.c") + glob.glob("src/lib/*.c") +
        glob.glob("cmd/*/*.c"))
    over = []
    for f in files:
        for n, name in functions(f):
            if n > FN_MAX:
                over.append((n, "%s %s" % (f, name)))
        if re.match(r"src/[^/]+\.c$", f):
            n = sum(1 for _ in open(f, encoding="utf-8", errors="replace"))
            if n > FILE_MAX:
                over.append((n, "%s (file)" % f))
    for n, what in sorted(over, reverse=True):
        print(n, what)
    print("sizes: %d over (functions > %d lines, src files > %d lines)" %
          (len(over), FN_MAX, FILE_MAX))
    return 1 if strict and over else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
