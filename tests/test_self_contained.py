"""Nothing in the repository points outside it: no specification or reference folder of the authors'
workspace, no absolute path of their machine (a clone has none of them)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP_DIRS = {".git", ".venv", "outputs", "__pycache__", ".hypothesis", ".peers", ".pytest_cache", "acco.egg-info"}
TEXT = {".py", ".md", ".yaml", ".yml", ".sh", ".toml", ".txt", ".cfg", ".lock"}
# built from parts so that this file does not match itself
OUTSIDE = re.compile("|".join([r"shared/" + "(spec|reference)", r"\.\./" + "shared", "/" + "work/",
                               r"\bspec [a-z-]+\." + "md", r"\(spec" + r" §"]))


def _files() -> list[Path]:
    out = []
    for p in ROOT.rglob("*"):
        if p.is_file() and p.suffix in TEXT and not SKIP_DIRS & set(p.relative_to(ROOT).parts):
            out.append(p)
    return out


def test_nothing_points_outside_the_repository() -> None:
    files = _files()
    assert len(files) > 100  # the walk found the repository
    bad = [f"{p.relative_to(ROOT)}:{i}: {line.strip()[:100]}" for p in files
           for i, line in enumerate(p.read_text(errors="replace").splitlines(), 1) if OUTSIDE.search(line)]
    assert not bad, "\n".join(bad)


def test_docs_links_resolve() -> None:
    """Every docs/*.md file named in the README and the docs exists."""
    names = set()
    for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        names |= set(re.findall(r"docs/[A-Za-z_-]+\.md", p.read_text()))
    missing = sorted(n for n in names if not (ROOT / n).is_file())
    assert not missing, missing
