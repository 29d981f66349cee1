"""A pipeline tree as the Groovy 4 parser sees it: which files belong to it, their parse summaries, name resolution.

`load_pipeline(root)` finds the files, parses them all in one request to the Groovy server (see groovy/NfAst.groovy
for the summary of each file) and returns a `Pipeline` that the checks in `checks.py` read.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .groovy import server

# Folders holding pipeline code; elsewhere only the root's *.nf, *.config and tests/*.nf.test, tests/*.config.
CODE_DIRS = ("workflows", "subworkflows", "modules")
UPPER_SNAKE = re.compile(r"[A-Z][A-Z0-9_]*\Z")


@dataclass(frozen=True)
class Component:
    """A process, workflow or function visible in a file under `name` (its alias when included as one)."""

    name: str
    kind: str  # 'process', 'workflow', 'function' or 'unresolved' (an include that check_includes reports)
    file: str  # the defining file, relative to the root
    definition: dict = field(repr=False)

    @property
    def original(self) -> str:
        return self.definition.get("name") or self.name

    @property
    def arity(self) -> int | None:
        """How many arguments a call must pass: input declarations of a process (a tuple counts once), takes of a workflow."""
        if self.kind == "process":
            return len(self.definition["inputs"])
        if self.kind == "workflow":
            return len(self.definition["take"])
        return None

    @property
    def emits(self) -> list[str]:
        if self.kind == "process":
            return [o["emit"] for o in self.definition["outputs"] if o["emit"]]
        if self.kind == "workflow":
            return [e["name"] for e in self.definition["emit"] if e["name"]]
        return []


@dataclass
class Pipeline:
    root: Path
    files: dict[str, dict]  # relative path -> parse summary (see NfAst.summarise)
    roles: dict[str, str]  # relative path -> 'pipeline' (all checks) or 'syntax' (parse check only)

    def select(self, kind: str, role: str = "pipeline") -> dict[str, dict]:
        """Parsed files of one kind ('nf', 'config', 'nftest') that parse; role=None for every role."""
        return {
            rel: f
            for rel, f in self.files.items()
            if f["kind"] == kind and not f["error"] and (role is None or self.roles[rel] == role)
        }

    @property
    def complete(self) -> bool:
        """Whether every pipeline file parsed: checks over the whole tree (unused params, selectors) need that."""
        return not any(f["error"] for rel, f in self.files.items() if self.roles[rel] == "pipeline")

    def resolve_include(self, rel: str, source: str) -> tuple[str | None, list[str]]:
        """Resolve `from './x'` in file rel like Nextflow: x.nf, else x/main.nf (x itself when it ends in .nf)."""
        base = os.path.normpath(os.path.join(os.path.dirname(rel), source))
        tried = [base] if base.endswith(".nf") else [base + ".nf", base + "/main.nf"]
        for candidate in tried:
            if (self.root / candidate).is_file():
                return candidate, tried
        return None, tried

    def defined(self, rel: str) -> dict[str, Component]:
        """Components defined in a file (not included into it)."""
        f = self.files.get(rel)
        if not f or f["error"] or f["kind"] != "nf":
            return {}
        found = {p["name"]: Component(p["name"], "process", rel, p) for p in f["processes"]}
        found.update({w["name"]: Component(w["name"], "workflow", rel, w) for w in f["workflows"] if w["name"]})
        found.update({name: Component(name, "function", rel, {"name": name}) for name in f["functions"]})
        return found

    def components(self, rel: str) -> dict[str, Component]:
        """Every component callable by name in a file: its own definitions and what it includes (under the alias)."""
        visible = dict(self.defined(rel))
        for inc in self.files[rel].get("includes", []):
            if not inc["source"] or inc["source"].startswith("plugin/"):
                continue
            target, _ = self.resolve_include(rel, inc["source"])
            comp = self.defined(target).get(inc["name"]) if target else None
            name = inc["alias"] or inc["name"]
            if comp:
                visible[name] = Component(name, comp.kind, comp.file, comp.definition)
            else:  # reported once by check_includes; the other checks take the name as known and move on
                visible[name] = Component(name, "unresolved", target or "", {"name": inc["name"]})
        return visible


def discover(root: Path) -> dict[str, str]:
    """Files to parse, relative to root, with their role: 'pipeline' files get every check, 'syntax' only parsing."""
    roles: dict[str, str] = {}
    for path in sorted(
        p for p in root.glob("*.nf") if not p.name.startswith(".nf-test")
    ):  # nf-test writes .nf-test-<hash>.nf here while it runs
        roles[path.name] = "pipeline"
    for path in sorted(root.glob("*.config")):
        roles[path.name] = "pipeline" if path.name == "nextflow.config" else "syntax"
    for path in sorted(root.glob("conf/**/*.config")):
        roles[path.relative_to(root).as_posix()] = "pipeline"
    for folder in CODE_DIRS:
        for path in sorted((root / folder).rglob("*")):
            rel = path.relative_to(root).as_posix()
            in_tests = "tests" in path.relative_to(root).parts
            if path.name.endswith(".nf.test") or (in_tests and path.suffix in (".nf", ".config")):
                roles[rel] = "syntax"
            elif path.suffix in (".nf", ".config"):
                roles[rel] = "pipeline"
    for pattern in ("tests/*.nf.test", "tests/*.config"):
        for path in sorted(root.glob(pattern)):
            roles[path.relative_to(root).as_posix()] = "syntax"
    return roles


def load_pipeline(root: str | Path) -> Pipeline:
    """Discover and parse (one Groovy request for all files) the pipeline tree at root."""
    root = Path(root).resolve()
    roles = discover(root)
    answer = server().request({"op": "parse", "files": [str(root / rel) for rel in roles]})
    if "error" in answer:
        raise RuntimeError(f"parsing {root} failed in the Groovy server: {answer['error']}")
    files = {}
    for rel, summary in zip(roles, answer["files"], strict=True):
        summary["path"] = rel
        files[rel] = summary
    return Pipeline(root, files, roles)


def read_schema(root: Path) -> tuple[dict | None, str | None]:
    """nextflow_schema.json as a dict, or None with the reason."""
    path = root / "nextflow_schema.json"
    if not path.is_file():
        return None, "nextflow_schema.json is missing"
    try:
        return json.loads(path.read_text()), None
    except json.JSONDecodeError as err:
        return None, f"nextflow_schema.json is not valid JSON (line {err.lineno}, column {err.colno}): {err.msg}"
