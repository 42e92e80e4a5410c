"""`make mutate`: mutation testing of domain/ with mutmut, against the domain unit tests.

The repository root is the package `rectify` (pyproject maps rectify -> "."), while mutmut copies
`source_paths` into mutants/ and imports them from there by their path. So this lays the package out
as it is installed, in .mutate/ (git-ignored, made afresh each run):

    .mutate/rectify/       the package (every file but tests/, .git, .venv and run-time folders)
    .mutate/tests/         the tests, with a conftest of its own (below) instead of tests/conftest.py
    .mutate/pyproject.toml the project's, whose [tool.mutmut] names what to mutate and which tests to run

and runs `mutmut run` there. The conftest starts no servers (a test that needs PostgreSQL is left out),
fixes Hypothesis' examples (derandomize: the same run gives the same verdicts) and skips shrinking
(a failing example kills the mutant as it is). Then it prints the score per file and writes every
surviving mutant's diff to .mutate/survivors.md. Not part of `make test`: it takes most of an hour on two
busy cores. Arguments name mutants to run alone (globs: `make mutate MUTANTS='rectify.domain.state*'`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutate"
BIN = Path(sys.executable).parent
#: Top-level entries of the repository that are not the package.
NOT_PACKAGE = {
    ".git",
    ".venv",
    ".mutate",
    "mutants",
    "tests",
    "out",
    ".rectify",
    ".hypothesis",
    ".pytest_cache",
    ".ruff_cache",
    ".import_linter_cache",
    ".grimp_cache",
    "build",
    "dist",
}

CONFTEST = '''"""Written by tests/mutate.py for `make mutate`: no servers, fixed Hypothesis examples, no shrinking."""

from hypothesis import Phase, settings

settings.register_profile(
    "mutate", derandomize=True, database=None, deadline=None, phases=[Phase.explicit, Phase.generate]
)
settings.load_profile("mutate")

#: Fixtures that start a server: their tests belong to `make test`, not to the domain's mutation run.
SERVERS = {"pg", "fresh_database_url"}


def pytest_collection_modifyitems(config, items):
    dropped = [item for item in items if SERVERS & set(getattr(item, "fixturenames", ()))]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]
'''


def lay_out() -> None:
    shutil.rmtree(WORK, ignore_errors=True)
    junk = shutil.ignore_patterns("__pycache__", "*.pyc")

    def outside_package(folder: str, names: list[str]) -> set[str]:
        top = {name for name in names if name in NOT_PACKAGE} if Path(folder) == ROOT else set()
        return top | junk(folder, names)

    shutil.copytree(ROOT, WORK / "rectify", ignore=outside_package, symlinks=True)
    shutil.copytree(ROOT / "tests", WORK / "tests", ignore=shutil.ignore_patterns("conftest.py", "__pycache__"))
    (WORK / "tests" / "conftest.py").write_text(CONFTEST, "utf-8")
    shutil.copy2(ROOT / "pyproject.toml", WORK / "pyproject.toml")


def mutmut(*args: str, quiet: bool = False) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [str(BIN / "mutmut"), *args],
        cwd=WORK,
        env=env,
        text=True,
        check=False,
        capture_output=quiet,
    )


def verdicts() -> dict[str, dict[str, str]]:
    """Each mutated file's mutants and their verdicts, read from mutmut's own records."""
    from mutmut.stats import status_by_exit_code

    found: dict[str, dict[str, str]] = {}
    for meta in sorted((WORK / "mutants" / "rectify" / "domain").glob("*.py.meta")):
        codes = json.loads(meta.read_text("utf-8"))["exit_code_by_key"]
        name = meta.name.removesuffix(".meta")
        checked = {key: status_by_exit_code[code] for key, code in codes.items() if code is not None}
        if checked:  # (a run of named mutants leaves the others unchecked)
            found[name] = checked
    return found


def report(found: dict[str, dict[str, str]], seconds: float) -> int:
    total: Counter[str] = Counter()
    print(f"\nmutation testing of domain/ in {seconds / 60:.1f} min (mutmut, {os.cpu_count()} CPUs)")
    print(f"{'file':<18}{'mutants':>8}{'killed':>8}{'survived':>9}{'other':>7}{'score':>8}")
    lines = []
    for name, results in found.items():
        counts = Counter(results.values())
        total.update(counts)
        killed = counts["killed"] + counts["timeout"]
        other = len(results) - killed - counts["survived"]
        tested = len(results) - counts["skipped"]
        score = 100 * killed / tested if tested else 100.0
        print(f"{name:<18}{len(results):>8}{killed:>8}{counts['survived']:>9}{other:>7}{score:>7.1f}%")
        for key, status in results.items():
            if status not in {"killed", "timeout"}:
                shown = mutmut("show", key, quiet=True).stdout
                lines += [f"## {key}: {status}", "", "```diff", shown.split("\n", 1)[-1].strip(), "```", ""]
    killed = total["killed"] + total["timeout"]
    tested = sum(total.values()) - total["skipped"]
    print(
        f"{'all of domain/':<18}{sum(total.values()):>8}{killed:>8}{total['survived']:>9}"
        f"{tested - killed - total['survived']:>7}{100 * killed / max(tested, 1):>7.1f}%"
    )
    print(f"verdicts: {dict(total)}")
    (WORK / "survivors.md").write_text("# Mutants not killed\n\n" + "\n".join(lines), "utf-8")
    print(f"each mutant not killed, with its diff: {(WORK / 'survivors.md').relative_to(ROOT)}")
    return 0


def main(names: list[str]) -> int:
    """All of domain/, or only the mutants named (globs such as 'rectify.domain.calendar*')."""
    lay_out()
    started = time.monotonic()
    children = os.environ.get("MUTATE_CHILDREN", str(os.cpu_count() or 2))
    run = mutmut("run", "--max-children", children, *names)
    if run.returncode != 0:
        print(f"mutmut run failed with exit status {run.returncode}", file=sys.stderr)
        return run.returncode
    return report(verdicts(), time.monotonic() - started)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
