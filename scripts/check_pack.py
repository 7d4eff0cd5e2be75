#!/usr/bin/env python3
"""jansson's json_pack reads its variadic arguments by the format: "i" and
"b" an int, "I" a json_int_t (long long), "f" a double.  A json_int_t given
for "i" is undefined behaviour that works by luck on x86-64.  The compiler
cannot check these formats, so this does: for every json_pack call in the
given C files, each argument cast to a type is matched against the code
that consumes it.  Exit 1 and one line per mismatch.

    check_pack.py FILE.c...
"""
import re
import sys

WIDE = re.compile(r"^\(\s*(json_int_t|long long|int64_t|long|size_t|ssize_t|"
                  r"uint64_t|off_t|time_t)\s*\)")
NARROW = re.compile(r"^\(\s*(int|unsigned|unsigned int|short|char|bool)\s*\)")
REAL = re.compile(r"^\(\s*(double|float)\s*\)")


def call_args(text, start):
    """The top-level arguments of the call whose '(' is at start."""
    depth, i, cur, args = 0, start, [], []
    while i < len(text):
        c = text[i]
        if c in "\"'":
            j = i + 1
            while text[j] != c:
                j += 2 if text[j] == "\\" else 1
            cur.append(text[i:j + 1])
            i = j + 1
            continue
        if c == "(":
            depth += 1
            if depth == 1:
                i += 1
                continue
        elif c == ")":
            depth -= 1
            if depth == 0:
                args.append("".join(cur).strip())
                return args, i
        elif c == "," and depth == 1:
            args.append("".join(cur).strip())
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    return None, i


def consumers(fmt):
    """The codes of fmt that take an argument, in order ('s' per string,
    '#' or '%' for a length, 'i', 'b', 'I', 'f', 'o')."""
    out, i = [], 0
    while i < len(fmt):
        c = fmt[i]
        if c == "s":
            out.append("s")
            while i + 1 < len(fmt) and fmt[i + 1] in "#%+?*":
                m = fmt[i + 1]
                if m in "#%":
                    out.append(m)
                elif m == "+":
                    out.append("s")
                i += 1
        elif c in "ibIfoO":
            out.append(c if c != "O" else "o")
        i += 1
    return out


def check(path):
    text = open(path, encoding="utf-8").read()
    # Comments out, same length, so offsets give line numbers.
    text = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group()),
                  text, flags=re.S)
    bad = 0
    for m in re.finditer(r"\bjson_pack\s*\(", text):
        args, _ = call_args(text, m.end() - 1)
        if not args:
            continue
        lits = re.findall(r'"((?:[^"\\]|\\.)*)"', args[0])
        if not lits:
            continue
        codes = consumers("".join(lits))
        line = text.count("\n", 0, m.start()) + 1
        for code, arg in zip(codes, args[1:]):
            wrong = None
            if code in "ib" and (WIDE.match(arg) or REAL.match(arg)):
                wrong = "int"
            elif code == "I" and (NARROW.match(arg) or REAL.match(arg)):
                wrong = "json_int_t"
            elif code == "f" and (WIDE.match(arg) or NARROW.match(arg)):
                wrong = "double"
            if wrong:
                print(f"{path}:{line}: json_pack '{code}' reads {wrong}, "
                      f"given {arg.split(')')[0]})")
                bad += 1
        if len(codes) != len(args) - 1:
            print(f"{path}:{line}: json_pack format takes {len(codes)} "
                  f"arguments, given {len(args) - 1}")
            bad += 1
    return bad


def main():
    bad = sum(check(p) for p in sys.argv[1:])
    if bad:
        return 1
    print(f"check_pack: json_pack arguments match their formats "
          f"in {len(sys.argv) - 1} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
