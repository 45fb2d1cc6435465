#!/usr/bin/env python3
"""Checks that every function httpapi.h declares keeps the header's contract style.

Each HTTPAPI_API declaration must sit directly under its comment, and the comment must say
- which threads may call it: a sentence that begins "Any thread" or "One thread at a time";
- for a function returning httpapi_error, what it fails with: "Errors:" followed by codes
  of HTTPAPI_ERROR_MAP (the HTTPAPI_ERROR_ prefix may be left out), or by "those of" /
  "as" another function; a function that cannot fail has no "Errors:".
With --library, the shared library must export exactly the declared functions (strong
symbols: nothing of the static libraries linked into it).

Usage: check_contracts.py HEADER [--library libhttpapi.so]
"""
import argparse
import re
import subprocess
import sys

DECLARATION = re.compile(r"HTTPAPI_API\s+(?P<returns>[^;(]*?)\b(?P<name>httpapi_\w+)\s*\(")
THREADS = re.compile(r"(?:^|[.;:]\s+)(Any thread|One thread at a time)\b")
CODE = re.compile(r"X\((HTTPAPI_\w+),\s*(\d+),")
ERRORS_REFERENCE = re.compile(r"^\s*(those of|as) httpapi_\w+")


def comment_before(text, at):
    """The /* ... */ comment that ends right above position `at`, without its stars."""
    head = text[:at].rstrip()
    if not head.endswith("*/"):
        return None
    start = head.rfind("/*")
    body = head[start + 2:-2]
    return " ".join(line.strip().lstrip("*").strip() for line in body.splitlines())


def check(text):
    codes = {name for name, _ in CODE.findall(text)}
    short = {name.removeprefix("HTTPAPI_ERROR_") for name in codes} | codes
    problems = []
    declared = []
    for match in DECLARATION.finditer(text):
        name = match["name"]
        declared.append(name)
        comment = comment_before(text, match.start())
        if comment is None:
            problems.append(f"{name}: no contract comment directly above the declaration")
            continue
        if not THREADS.search(comment):
            problems.append(f"{name}: no thread note ('Any thread...' or "
                            "'One thread at a time...')")
        fallible = match["returns"].strip() == "httpapi_error"
        errors_at = comment.find("Errors:")
        if fallible and errors_at < 0:
            problems.append(f"{name}: returns httpapi_error but has no 'Errors:' list")
        elif fallible:
            listed = comment[errors_at + len("Errors:"):]
            words = set(re.findall(r"\b[A-Z][A-Z_]+\b", listed))
            if not (words & short) and not ERRORS_REFERENCE.match(listed):
                problems.append(f"{name}: 'Errors:' names no code of HTTPAPI_ERROR_MAP")
        elif errors_at >= 0:
            problems.append(f"{name}: cannot fail (returns {match['returns'].strip()}) "
                            "but lists 'Errors:'")
    if len(declared) < 10 or len(codes) < 10:
        problems.append(f"found only {len(declared)} declarations and {len(codes)} codes: "
                        "has the header's layout changed?")
    if len(set(declared)) != len(declared):
        problems.append("a function is declared twice")
    return declared, problems


def exported(library):
    """The library's strong dynamic symbols, without their version (httpapi_x@@HTTPAPI_1,
    src/client/libhttpapi.map). Weak and unique ones (W, V, u) would be the standard
    library's template instantiations, which libstdc++ gives default visibility."""
    listing = subprocess.run(["nm", "-D", "--defined-only", library], check=True,
                             capture_output=True, text=True).stdout
    return {fields[2].split("@")[0] for fields in map(str.split, listing.splitlines())
            if len(fields) == 3 and fields[1] in ("T", "D", "B", "R")}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("header")
    parser.add_argument("--library")
    args = parser.parse_args()
    with open(args.header, encoding="utf-8") as f:
        declared, problems = check(f.read())
    if args.library:
        functions = exported(args.library)
        for name in sorted(set(declared) - functions):
            problems.append(f"{name}: declared but not exported by {args.library}")
        for name in sorted(functions - set(declared)):
            problems.append(f"{name}: exported by {args.library} but not declared in the header")
    for problem in problems:
        print(f"{args.header}: {problem}", file=sys.stderr)
    print(f"{len(declared)} functions checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
