"""project_files(): the project's own files (what a clone has, plus new files not yet committed),
for the tests and the mutation harness that copy the project. In a git work tree it is git's list
(``ls-files --cached --others --exclude-standard``); in a copy without .git (a mutation harness's,
an unpacked archive) the same list is read from the tree by its .gitignore files."""
from __future__ import annotations

import fnmatch
import os
import subprocess
from pathlib import Path


def project_files(root: Path) -> list[str]:
    """Paths relative to *root*, sorted, of the files a copy of the project must hold."""
    root = Path(root)
    if (root / ".git").exists():
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=root, capture_output=True, check=True).stdout
        return sorted({p for p in out.decode().split("\0") if p and (root / p).is_file()})
    return walked_files(root)


def _patterns(folder: Path) -> list[str]:
    ignore = folder / ".gitignore"
    if not ignore.is_file():
        return []
    patterns = [line.strip() for line in ignore.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
    assert not any("/" in p.rstrip("/") or p.startswith("!") for p in patterns), \
        f"{ignore}: a pattern this reader does not know (anchored or negated)"
    return patterns


def walked_files(root: Path) -> list[str]:
    """The files under *root* that no .gitignore excludes (each applies to its own folder and
    below; patterns as this project and its tools write them: ``name/`` for a folder, ``*.suffix``,
    ``*`` or ``name`` for a file or folder), .git never."""
    root = Path(root)
    out = []

    def walk(folder: Path, inherited: list[str]) -> None:
        patterns = inherited + _patterns(folder)
        folders = [p.rstrip("/") for p in patterns if p.endswith("/")] + [".git"]
        names = [p for p in patterns if not p.endswith("/")]
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if entry.is_dir(follow_symlinks=False):
                if not any(fnmatch.fnmatch(entry.name, p) for p in folders + names):
                    walk(Path(entry.path), patterns)
            elif not any(fnmatch.fnmatch(entry.name, p) for p in names) and Path(entry.path).is_file():
                out.append(str(Path(entry.path).relative_to(root)))

    walk(root, [])
    return sorted(out)
