"""Conventions shared by every bin/ CLI: one error type for bad input, exit code 1, a version flag."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence

from . import __version__


class InputError(Exception):
    """Bad user input. The message must name the file and the line, column, sample or gene at fault."""


def parser(description: str) -> argparse.ArgumentParser:
    """An ArgumentParser with defaults shown in --help and a --version flag."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--version", action="version", version=f"%(prog)s (magelib {__version__})")
    return p


def run(main: Callable[[Sequence[str] | None], None], argv: Sequence[str] | None = None) -> int:
    """Run a CLI's main(argv); turn InputError into a one-line message on stderr and exit code 1."""
    try:
        main(argv)
    except InputError as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 1
    return 0


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
