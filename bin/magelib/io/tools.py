"""External compression and indexing tools (bgzip, tabix) and the check that a tool is on PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from ..cli import InputError


def bgzip(source: Path, dest: Path) -> None:
    """Compress ``source`` to ``dest`` in BGZF so tabix can index it."""
    with open(dest, "wb") as out:
        subprocess.run(["bgzip", "-c", str(source)], stdout=out, check=True)


def tabix(path: str | os.PathLike, preset: str) -> None:
    """Index a bgzipped file; the index is written atomically next to it."""
    index = Path(f"{path}.tbi")
    if index.exists():
        index.unlink()
    subprocess.run(["tabix", "-f", "-p", preset, str(path)], check=True)


def which(tool: str) -> str:
    """Path of an executable, or an InputError naming it."""
    path = shutil.which(tool)
    if path is None:
        raise InputError(f"'{tool}' is not on PATH")
    return path
