"""Static checks of a Nextflow DSL2 pipeline tree, over the Groovy 4 parse summaries (see README.md for their limits).

Each check takes a pipeline root (or an already loaded `Pipeline`) and returns a list of `Problem`s; an empty list
means the check passes. Command line (from the repository root): `python -m tests.nftools [ROOT] [CHECK...]` prints
the problems and exits 1 if there are any.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .pipeline import UPPER_SNAKE, Component, Pipeline, load_pipeline, read_schema

# Params every nf-core style pipeline carries, read by plugins and boilerplate: declared in both places, maybe unused.
GENERIC_PARAMS = frozenset(
    {
        "help", "help_full", "show_hidden", "version", "validate_params", "outdir", "publish_dir_mode", "email",
        "email_on_fail", "plaintext_email", "monochrome_logs", "hook_url", "trace_report_suffix",
        "pipelines_testdata_base_path", "modules_testdata_base_path", "genome", "genomes", "max_cpus", "max_memory",
        "max_time",
    }
)  # fmt: skip
GENERIC_PREFIXES = ("multiqc_", "max_multiqc_", "config_profile_", "custom_config_", "igenomes_")
MODULE_MAIN = re.compile(r"modules/local/[^/]+/[^/]+/main\.nf\Z")


@dataclass(frozen=True)
class Problem:
    check: str
    path: str  # relative to the pipeline root
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line or '-'}: {self.message}"


def as_pipeline(target: str | Path | Pipeline) -> Pipeline:
    return target if isinstance(target, Pipeline) else load_pipeline(target)


# ---------------------------------------------------------------- syntax


def check_syntax(target) -> list[Problem]:
    """Every .nf, .config and .nf.test file parses with the Groovy 4 parser."""
    problems = []
    for rel, f in as_pipeline(target).files.items():
        if f["error"]:
            err = f["error"]
            where = f" (column {err['column']})" if err.get("column") else ""
            problems.append(Problem("syntax", rel, err["line"], f"does not parse with Groovy 4{where}: {err['message']}"))
    return problems


# ---------------------------------------------------------------- includes


def check_includes(target) -> list[Problem]:
    """include { X } from './x' finds x.nf or x/main.nf defining X (plugin/... skipped); includeConfig files exist."""
    p = as_pipeline(target)
    problems = []
    for rel, f in p.select("nf").items():
        for inc in f["includes"]:
            source, name = inc["source"], inc["name"]
            if source is None:
                problems.append(Problem("includes", rel, inc["line"], f"include {{ {name} }}: the source is not a plain string"))
                continue
            if source.startswith("plugin/"):
                continue
            found, tried = p.resolve_include(rel, source)
            if found is None:
                msg = f"include {{ {name} }} from '{source}': no such file (tried {', '.join(tried)})"
                problems.append(Problem("includes", rel, inc["line"], msg))
            elif found not in p.files:
                msg = f"include {{ {name} }} from '{source}': {found} is outside the pipeline folders"
                problems.append(Problem("includes", rel, inc["line"], msg))
            elif not p.files[found]["error"] and name not in p.defined(found):
                defined = ", ".join(sorted(p.defined(found))) or "nothing"
                msg = f"include {{ {name} }} from '{source}': {found} does not define {name} (it defines {defined})"
                problems.append(Problem("includes", rel, inc["line"], msg))
    for rel, f in p.select("config", role=None).items():
        for inc in f["include_configs"]:
            source = inc["source"]
            if source is None or "://" in source:
                continue  # computed or remote (institutional profiles): cannot be checked statically
            path = Path(source) if os.path.isabs(source) else p.root / os.path.dirname(rel) / source
            if not path.is_file():
                problems.append(Problem("includes", rel, inc["line"], f"includeConfig '{source}': no such file"))
    return problems


# ---------------------------------------------------------------- calls and emits


def _workflows(p: Pipeline) -> Iterable[tuple[str, dict, dict[str, Component]]]:
    for rel, f in p.select("nf").items():
        visible = p.components(rel)
        for wf in f["workflows"]:
            yield rel, wf, visible


def _wf_label(wf: dict) -> str:
    return f"workflow {wf['name']}" if wf["name"] else "the entry workflow"


def check_calls(target) -> list[Problem]:
    """Every UPPER_SNAKE call in a workflow is defined or included, with as many arguments as inputs/takes."""
    problems = []
    for rel, wf, visible in _workflows(as_pipeline(target)):
        for call in wf["calls"]:
            name, nargs = call["name"], call["nargs"]
            comp = visible.get(name)
            if comp is None:
                if UPPER_SNAKE.match(name):
                    msg = f"{_wf_label(wf)} calls {name}, which is neither defined in this file nor included"
                    problems.append(Problem("calls", rel, call["line"], msg))
                continue
            if comp.arity is None or nargs is None or nargs == comp.arity:
                continue
            what = "input declarations" if comp.kind == "process" else "take: channels"
            msg = (
                f"{name}(...) is called with {nargs} argument(s) but {comp.kind} {comp.original} "
                f"({comp.file}:{comp.definition['line']}) has {comp.arity} {what}"
            )
            problems.append(Problem("calls", rel, call["line"], msg))
    return problems


def check_emits(target) -> list[Problem]:
    """Every X.out.name names an emit: of X (through aliases), and X is called in the same workflow."""
    problems = []
    for rel, wf, visible in _workflows(as_pipeline(target)):
        called = {call["name"] for call in wf["calls"]}
        for ref in wf["out_refs"]:
            name, emit = ref["target"], ref["emit"]
            comp = visible.get(name)
            if comp is None and UPPER_SNAKE.match(name):
                msg = f"{name}.out.{emit}: {name} is neither defined in this file nor included"
                problems.append(Problem("emits", rel, ref["line"], msg))
            if comp is None or comp.kind in ("function", "unresolved"):
                continue
            if emit not in comp.emits:
                emits = ", ".join(comp.emits) or "nothing named"
                msg = f"{name}.out.{emit}: {comp.kind} {comp.original} ({comp.file}) emits {emits}"
                problems.append(Problem("emits", rel, ref["line"], msg))
            if name not in called:
                msg = f"{name}.out.{emit} is read in {_wf_label(wf)}, which does not call {name}"
                problems.append(Problem("emits", rel, ref["line"], msg))
    return problems


# ---------------------------------------------------------------- params


def schema_params(schema: dict) -> tuple[dict[str, str], list[str]]:
    """Params of an nf-schema (draft 2020-12) schema -> {name: group}, plus the $defs groups allOf does not reference."""
    groups = schema.get("$defs") or schema.get("definitions") or {}
    referenced = {ref["$ref"].rsplit("/", 1)[-1] for ref in schema.get("allOf", []) if isinstance(ref, dict) and "$ref" in ref}
    found = {name: "properties" for name in schema.get("properties", {})}
    for group, body in groups.items():
        if group in referenced:
            found.update({name: group for name in body.get("properties", {})})
    return found, sorted(set(groups) - referenced)


def check_params(target) -> list[Problem]:
    """params.x read or set anywhere is declared in nextflow.config params {} and nextflow_schema.json; both declare
    the same params; and each declared param is read somewhere (generic nf-core params excepted)."""
    p = as_pipeline(target)
    schema, schema_error = read_schema(p.root)
    config = p.files.get("nextflow.config")
    if schema is None or not config or config["error"]:
        reason = schema_error or "nextflow.config is missing or does not parse"
        return [Problem("params", "nextflow_schema.json" if schema_error else "nextflow.config", None, reason)]

    declared = {d["name"]: d["line"] for d in config["params_declared"] if not d["scope"]}
    in_schema, unreferenced = schema_params(schema)
    reads: dict[str, tuple[str, int]] = {}  # first place reading each param
    sets: dict[str, tuple[str, int]] = {}  # first profile or other config setting it (it must be declared too)
    for rel, f in sorted(p.select("nf").items()):
        for use in f["params_used"]:
            reads.setdefault(use["name"], (rel, use["line"]))
    for rel, f in sorted(p.select("config").items()):
        for use in f["params_used"]:
            reads.setdefault(use["name"], (rel, use["line"]))
        for setter in f["params_declared"]:
            if rel != "nextflow.config" or setter["scope"]:
                sets.setdefault(setter["name"], (rel, setter["line"]))
    uses = {**sets, **reads}

    problems: list[Problem] = []

    def add(rel: str, line: int | None, message: str) -> None:
        problems.append(Problem("params", rel, line, message))

    for group in unreferenced:
        add("nextflow_schema.json", None, f"$defs group '{group}' is not referenced by allOf (its params are not validated)")
    for name, (rel, line) in sorted(uses.items()):
        if name not in declared:
            add(rel, line, f"params.{name} is used but not declared in nextflow.config (params block)")
        if name not in in_schema:
            add(rel, line, f"params.{name} is used but not in nextflow_schema.json")
    for name, line in sorted(declared.items()):
        if name not in in_schema and name not in uses:
            add("nextflow.config", line, f"params.{name} is declared but not in nextflow_schema.json")
    for name in sorted(set(in_schema) - set(declared) - set(uses)):
        add("nextflow_schema.json", None, f"params.{name} is in the schema but not declared in nextflow.config")
    for name in sorted((set(declared) | set(in_schema)) - set(reads)):
        if p.complete and name in declared and name in in_schema and not is_generic_param(name):
            add("nextflow.config", declared[name], f"params.{name} is declared but never used")
    return problems


def is_generic_param(name: str) -> bool:
    return name in GENERIC_PARAMS or name.startswith(GENERIC_PREFIXES)


# ---------------------------------------------------------------- withName selectors


def process_names(p: Pipeline) -> set[str]:
    """Names a withName selector can match: process names, include aliases and fully qualified names (WF:SUB:NAME)."""
    names = set()
    for rel, f in p.select("nf").items():
        names.update(proc["name"] for proc in f["processes"])
        names.update(c.name for c in p.components(rel).values() if c.kind in ("process", "unresolved"))
    return names | qualified_names(p)


def qualified_names(p: Pipeline) -> set[str]:
    """Fully qualified process names reachable from main.nf's entry workflow, as Nextflow builds them: the call names
    (aliases) of each workflow on the way, joined by ':', the unnamed entry workflow contributing nothing."""
    found: set[str] = set()

    def visit(rel: str, wf: dict, prefix: tuple[str, ...]) -> None:
        visible = p.components(rel)
        for call in wf["calls"]:
            comp = visible.get(call["name"])
            path = (*prefix, call["name"])
            if comp and comp.kind in ("process", "unresolved"):  # an unresolved include may be a process
                found.add(":".join(path))
            elif comp and comp.kind == "workflow" and len(path) < 30:
                visit(comp.file, comp.definition, path)

    main = p.select("nf").get("main.nf")
    for wf in main["workflows"] if main else []:
        if wf["name"] is None:
            visit("main.nf", wf, ())
    return found


def selector_matches(pattern: str, names: Iterable[str]) -> bool:
    """Nextflow's rule: the selector is a Java regex that must match a whole name; '!pattern' negates it.
    Here: it must fully match (re.fullmatch) at least one simple name, alias or fully qualified name."""
    negate = pattern.startswith("!")
    regex = re.compile(pattern[1:] if negate else pattern)
    return any((regex.fullmatch(name) is None) == negate for name in names)


def check_selectors(target) -> list[Problem]:
    """Every withName: selector in nextflow.config and conf/**/*.config matches at least one process."""
    p = as_pipeline(target)
    if not p.complete:
        return []  # the process names of a file that does not parse are unknown: check_syntax reports it
    names = process_names(p)
    problems = []
    for rel, f in p.select("config").items():
        if rel != "nextflow.config" and not rel.startswith("conf/"):
            continue
        for sel in f["selectors"]:
            if sel["kind"] != "withName":
                continue
            if sel["pattern"] is None:
                problems.append(Problem("selectors", rel, sel["line"], f"withName: {sel['text']} is not a plain string"))
                continue
            try:
                matched = selector_matches(sel["pattern"], names)
            except re.error as err:
                msg = f"withName: '{sel['pattern']}' is not a valid regex: {err}"
                problems.append(Problem("selectors", rel, sel["line"], msg))
                continue
            if not matched:
                problems.append(Problem("selectors", rel, sel["line"], f"withName: '{sel['pattern']}' matches no process"))
    return problems


# ---------------------------------------------------------------- modules


def check_modules(target) -> list[Problem]:
    """Each modules/local/<tool>/<sub>/main.nf: one process with container, conda (its environment.yml present),
    stub:, a versions emit, no params; tests/main.nf.test beside it for that process with a -stub twin."""
    p = as_pipeline(target)
    problems = []
    for rel, f in sorted(p.select("nf").items()):
        if not MODULE_MAIN.match(rel):
            continue

        def problem(message: str, line: int | None = None, path: str = rel) -> None:
            problems.append(Problem("modules", path, line, message))

        if len(f["processes"]) != 1:
            problem(f"defines {len(f['processes'])} processes; a module defines exactly one")
            if not f["processes"]:
                continue
        proc = f["processes"][0]
        name, line = proc["name"], proc["line"]
        for directive in ("container", "conda"):
            if directive not in proc["directives"]:
                problem(f"process {name} has no {directive} directive", line)
        conda = proc["directives"].get("conda", {}).get("value") or ""
        if "environment.yml" in conda and not (p.root / os.path.dirname(rel) / "environment.yml").is_file():
            problem(f"process {name}: conda points at environment.yml, which is missing", line)
        if "stub" not in proc["sections"]:
            problem(f"process {name} has no stub: section", line)
        if "versions" not in [o["emit"] for o in proc["outputs"]]:
            problem(f'process {name} has no versions output (path "versions.yml", emit: versions)', line)
        for use in f["params_used"]:
            problem(f"the module reads params.{use['name']}: settings must arrive through task.ext from conf/", use["line"])
        problems.extend(_module_test_problems(p, rel, name))
    return problems


def _module_test_problems(p: Pipeline, rel: str, name: str) -> list[Problem]:
    test_rel = os.path.join(os.path.dirname(rel), "tests", "main.nf.test")
    test = p.files.get(test_rel)
    if test is None:
        return [Problem("modules", rel, None, f"process {name} has no nf-test file {test_rel}")]
    if test["error"]:
        return []  # reported by check_syntax
    problems = []
    if test["script"] != "../main.nf":
        problems.append(Problem("modules", test_rel, None, f'script is {test["script"]!r}, expected "../main.nf"'))
    if test["process"] != name:
        problems.append(Problem("modules", test_rel, None, f'process is {test["process"]!r}, expected "{name}"'))
    stub_tests = [t for t in test["tests"] if "-stub" in t["options"]]
    if not stub_tests:
        problems.append(Problem("modules", test_rel, None, 'no test with options "-stub"'))
    # A module whose tool needs the network (SRA download) says so in its test file and is tested stub-only there
    offline_only = "needs the network" in (p.root / test_rel).read_text()
    if len(stub_tests) == len(test["tests"]) and not offline_only:
        problems.append(Problem("modules", test_rel, None, "no test that runs the real script (without -stub)"))
    return problems


CHECKS: dict[str, Callable[[str | Path | Pipeline], list[Problem]]] = {
    "syntax": check_syntax,
    "includes": check_includes,
    "calls": check_calls,
    "emits": check_emits,
    "params": check_params,
    "selectors": check_selectors,
    "modules": check_modules,
}


def run_checks(target, names: Iterable[str] | None = None) -> dict[str, list[Problem]]:
    p = as_pipeline(target)
    return {name: CHECKS[name](p) for name in (names or CHECKS)}


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else Path(__file__).resolve().parents[2]
    results = run_checks(root, argv[1:] or None)
    for name, problems in results.items():
        print(f"{name}: {'ok' if not problems else f'{len(problems)} problem(s)'}")
        for problem in problems:
            print(f"  {problem}")
    return 1 if any(results.values()) else 0
