"""Render a module's script: (or stub:) section for one task, as Nextflow would, and run it with bash.

    r = render_process("modules/local/salmon/quant/main.nf",
                       inputs={"meta": {"id": "lib1", "single_end": False}, "reads": ["a_1.fq.gz", "a_2.fq.gz"], "index": "idx"},
                       ext={"args": "--libType A", "prefix": "lib1"}, cpus=2, memory="4 GB")
    r.script               # the bash, as Nextflow writes .command.sh
    r.outputs              # {emit: [path patterns]}; r.optional: the emits declared optional: true
    r.run(workdir)         # bash -euo pipefail .command.sh in workdir, bin/ first on PATH
    r.check_outputs(workdir)

Binding, as in a Nextflow task: every declared input (path inputs render as their names, a list of paths as the
names separated by spaces, a one-element list as a single path), `task` (cpus, memory with toGiga()/toMega()/...,
ext with args/args2/args3/prefix defaulting to null, process, attempt 1, index 1), `moduleDir`, `projectDir`, `log`
(to stderr) and a `workflow` stub. Not supported: shell: and exec: sections, template files, `params` (modules must
not read them).
"""

from __future__ import annotations

import glob
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .groovy import REPO, require_groovy, server


class RenderError(AssertionError):
    """The process could not be rendered (unknown process, wrong inputs, a variable the script does not define...)."""


@dataclass(frozen=True)
class RenderedProcess:
    process: str
    script: str
    outputs: dict[str, list[str]]
    optional: frozenset[str] = field(default_factory=frozenset)

    def run(self, workdir: str | Path, check: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """Write .command.sh in workdir and run it there like Nextflow (bash -euo pipefail, bin/ on PATH)."""
        workdir = Path(workdir)
        (workdir / ".command.sh").write_text(self.script)
        full_env = {**os.environ, **(env or {})}
        full_env["PATH"] = f"{REPO / 'bin'}{os.pathsep}{full_env.get('PATH', '')}"
        proc = subprocess.run(
            ["bash", "-euo", "pipefail", ".command.sh"], cwd=workdir, env=full_env, capture_output=True, text=True
        )
        (workdir / ".command.out").write_text(proc.stdout)
        (workdir / ".command.err").write_text(proc.stderr)
        if check and proc.returncode != 0:
            tail = "\n".join(proc.stderr.splitlines()[-40:])
            raise AssertionError(f"{self.process}: the script exited with {proc.returncode} in {workdir}\n{tail}")
        return proc

    def missing_outputs(self, workdir: str | Path) -> list[str]:
        """Patterns of non-optional outputs that match nothing in workdir (globs as in Nextflow: *, **, ?, {a,b})."""
        missing = []
        for emit, patterns in self.outputs.items():
            if emit in self.optional:
                continue
            missing += [f"{emit}: {pattern}" for pattern in patterns if not _matches(Path(workdir), pattern)]
        return missing

    def check_outputs(self, workdir: str | Path) -> None:
        missing = self.missing_outputs(workdir)
        if missing:
            raise AssertionError(f"{self.process}: declared outputs missing in {workdir}: {'; '.join(missing)}")


def render_process(
    main_nf: str | Path,
    inputs: dict,
    ext: dict | None = None,
    cpus: int = 2,
    memory: str | None = "4 GB",
    stub: bool = False,
    process: str | None = None,
    extra_binding: dict | None = None,
) -> RenderedProcess:
    """Render the script: (stub=True: stub:) section of `process` (default: the file's only process) in main_nf
    (absolute, or relative to the repository root). `inputs` is keyed by the names in the input: block."""
    require_groovy()
    path = Path(main_nf)
    path = path if path.is_absolute() else REPO / path
    if not path.is_file():
        raise RenderError(f"no such module file: {path}")
    request = {
        "op": "render",
        "main_nf": str(path),
        "process": process,
        "inputs": _jsonable(inputs),
        "ext": _jsonable(ext or {}),
        "cpus": cpus,
        "memory": memory,
        "stub": stub,
        "project_dir": str(REPO),
        "extra_binding": _jsonable(extra_binding or {}),
    }
    answer = server().request(request)
    if "error" in answer:
        raise RenderError(f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}: {answer['error']}")
    return RenderedProcess(answer["process"], answer["script"], answer["outputs"], frozenset(answer["optional"]))


def _jsonable(value):
    """Paths become their string; tuples become lists (the Groovy side sees plain JSON)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def _expand_braces(pattern: str) -> list[str]:
    """'x.{bam,bai}' -> ['x.bam', 'x.bai'] (Python's glob has no braces; Nextflow's globs do)."""
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    return [expanded for option in match.group(1).split(",") for expanded in _expand_braces(head + option + tail)]


def _matches(workdir: Path, pattern: str) -> bool:
    return any(glob.glob(p, root_dir=workdir, recursive=True) for p in _expand_braces(pattern))
