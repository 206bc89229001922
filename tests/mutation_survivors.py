"""Print the results of the last ``mutmut run`` (``nox -s mutation``) as Markdown.

    python tests/mutation_survivors.py            # counts, then every survivor with its diff
    python tests/mutation_survivors.py --counts   # counts only

Run from the repository root, after ``mutmut run``. Each surviving mutant is printed as its
name, a tag when the change looks like one of the accepted kinds of tests/MUTATION.md (a
message text, a log call), and the lines it changed. Mutant names change with the code, so
tests/MUTATION.md keeps justifications by kind and by function, not by mutant number.
"""

from __future__ import annotations

import ast
import datetime
import difflib
import functools
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

_MUTMUT = [sys.executable, "-m", "mutmut"]
_RESULT = re.compile(r"^\s*(?P<name>\S+): (?P<status>.+?)\s*$")
_STRING = re.compile(r"""(?:[rbfu]{0,2})("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""")
_LOG_CALL = re.compile(r"\blog\.(debug|info|warning|error|exception)\(")
# Functions that run at import or whose result is cached on first use (the operation
# table's parameter factories and cross-field rules, the converter's hook factories): in
# mutmut's fork mode they have run in the parent before any mutant is switched on.
_BEFORE_THE_FORK = frozenset(
    {
        "otaclient._params.x_Str",
        "otaclient._params.x_Int",
        "otaclient._params.x_Bool",
        "otaclient._params.x_Enum_",
        "otaclient._params.x_Millis",
        "otaclient._params.x_Repeat",
        "otaclient._params.x_Structs",
        "otaclient._checks.x_requires",
        "otaclient._checks.x_together",
        "otaclient._checks.x_one_of",
        "otaclient._checks.x_max_offset",
        "otaclient._convert.x_configure_converter",
        "otaclient._convert.x_make_converter",
        "otaclient._convert.x__is_list",
        "otaclient._convert.x__enum_in_union",
        "otaclient._convert.x__strip_none",
        "otaclient._convert.x__make_enum_hook",
        "otaclient._convert.x__make_list_hook",
        "otaclient._convert.x__make_attrs_hook",
        "otaclient._convert.x__slots_settable",
    }
)
_REPORTED = ("survived", "no tests", "timeout", "suspicious")
_MUTANT = re.compile(r"^(?P<function>.+)__mutmut_(?P<number>\d+|orig)$")


def _mutmut(*args: str) -> str:
    done = subprocess.run([*_MUTMUT, *args], capture_output=True, text=True, check=True)
    return done.stdout


def _results() -> dict[str, str]:
    statuses = {}
    for line in _mutmut("results", "--all", "true").splitlines():
        match = _RESULT.match(line)
        if match:
            statuses[match["name"]] = match["status"]
    return statuses


@functools.cache
def _functions(module: str) -> dict[str, str]:
    # mutants/<module>.py holds every mutant as a function next to the original
    # (`x_f__mutmut_orig`, `x_f__mutmut_1`, ...): diff them here, faster than `mutmut show`.
    path = Path("mutants", *module.split(".")).with_suffix(".py")
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    found = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found[node.name] = "\n".join(lines[node.lineno - 1 : node.end_lineno])
    return found


def _changed_lines(name: str) -> tuple[list[str], list[str]]:
    module, _, function = name.rpartition(".")
    match = _MUTANT.match(function)
    functions = _functions(module)
    if match is None or function not in functions:
        return [], [f"(no source found for {name})"]
    original = functions.get(f"{match['function']}__mutmut_orig", "").splitlines()
    mutant = functions[function].splitlines()[1:]
    removed, added = [], []
    for line in difflib.unified_diff(original[1:], mutant, lineterm="", n=0):
        if line.startswith(("---", "+++", "@@")):
            continue
        (removed if line.startswith("-") else added).append(line[1:].strip())
    return removed, added


def _tag(name: str, removed: list[str], added: list[str]) -> str:
    if _function_of(name) in _BEFORE_THE_FORK:
        return "before-fork"
    before, after = " ".join(removed), " ".join(added)
    if _LOG_CALL.search(before) or _LOG_CALL.search(after):
        return "log"
    if _STRING.sub('""', before) == _STRING.sub('""', after) and before != after:
        return "text"
    if before.startswith("raise ") and _bare(before) == _bare(after):
        return "message"  # the same exception, its message replaced or dropped
    return ""


def _function_of(name: str) -> str:
    module, _, function = name.rpartition(".")
    match = _MUTANT.match(function)
    return f"{module}.{match['function']}" if match else name


def _bare(line: str) -> str:
    return re.sub(r"None|[\s,]", "", _STRING.sub("", line))


def _commit() -> str:
    done = subprocess.run(
        ["git", "log", "-1", "--format=%h (%cs)"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or "unknown"


def main(argv: list[str]) -> int:
    """Print the report; returns the process status."""
    statuses = _results()
    if not statuses:
        print("no mutmut results here: run `nox -s mutation` (or `mutmut run`) first")
        return 1
    counts = Counter(statuses.values())
    print(f"mutmut results, {datetime.date.today().isoformat()}, commit {_commit()}")
    print()
    print("| status | mutants |")
    print("|---|---|")
    for status, number in sorted(counts.items(), key=lambda kv: -kv[1]):
        print(f"| {status} | {number} |")
    print(f"| total | {sum(counts.values())} |")
    if "--counts" in argv:
        return 0
    for status in _REPORTED:
        names = sorted(name for name, s in statuses.items() if s == status)
        if not names:
            continue
        print(f"\n## {status} ({len(names)})\n")
        for name in names:
            removed, added = _changed_lines(name)
            tag = _tag(name, removed, added)
            change = " / ".join(removed) + "  =>  " + " / ".join(added)
            print(f"- `{name}`{f' [{tag}]' if tag else ''}: `{change[:160]}`")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
