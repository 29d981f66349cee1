"""Static checks of the Nextflow layer with the Groovy 4 parser (tests/nftools/checks.py; limits in its README.md).

1. On the real pipeline (skipped until main.nf exists): every check passes.
2. On tests/fixtures/nf_faults/: the clean tree passes every check; each other tree is the clean one with exactly
   one fault planted (the files it differs in are listed below), which its check catches and no other check reports.
"""

from __future__ import annotations

import filecmp
from functools import cache
from pathlib import Path

import pytest

from nftools.checks import CHECKS, process_names, run_checks, selector_matches
from nftools.groovy import REPO, require_groovy
from nftools.pipeline import load_pipeline

FAULTS_DIR = REPO / "tests" / "fixtures" / "nf_faults"
CLEAN = FAULTS_DIR / "clean"

# fault folder: (check that must catch it, text its report must contain, line reported or None, files changed vs clean)
FAULTS = {
    "syntax_error": ("syntax", "does not parse with Groovy 4", 22, {"workflows/demo.nf"}),
    "include_missing_file": ("includes", "'../modules/local/report/merged': no such file", 2, {"workflows/demo.nf"}),
    "include_missing_name": ("includes", "does not define REPORT_MERGED", 2, {"workflows/demo.nf"}),
    "include_config_missing": ("includes", "includeConfig 'conf/resources.config': no such file", 31, {"nextflow.config"}),
    "call_undefined": ("calls", "calls REPORT_SUMMARY, which is neither defined", 24, {"workflows/demo.nf"}),
    "call_process_args": ("calls", "SEQTK_COUNT(...) is called with 1 argument(s) but process SEQTK_COUNT", 12,
                          {"subworkflows/local/fastq_count/main.nf"}),
    "call_workflow_args": ("calls", "FASTQ_COUNT(...) is called with 3 argument(s) but workflow FASTQ_COUNT", 13,
                           {"workflows/demo.nf"}),
    "emit_unknown": ("emits", "FASTQ_COUNT.out.count: workflow FASTQ_COUNT", 20, {"workflows/demo.nf"}),
    "emit_unknown_alias": ("emits", "FINAL_MERGE.out.html: process REPORT_MERGE", 25, {"workflows/demo.nf"}),
    "emit_not_called": ("emits", "which does not call FASTQ_COUNT", 20, {"main.nf"}),
    "param_undeclared": ("params", "params.min_quality is used but not declared in nextflow.config", 9, {"conf/modules.config"}),
    "param_not_in_schema": ("params", "params.min_quality is used but not in nextflow_schema.json", 9,
                            {"conf/modules.config", "nextflow.config"}),
    "param_not_in_config": ("params", "params.min_quality is used but not declared in nextflow.config", 9,
                            {"conf/modules.config", "nextflow_schema.json"}),
    "param_unused": ("params", "params.min_quality is declared but never used", 10, {"nextflow.config", "nextflow_schema.json"}),
    "param_only_set_in_test": ("params", "params.min_quality is declared but never used", 10,
                               {"conf/test.config", "nextflow.config", "nextflow_schema.json"}),
    "param_group_unreferenced": ("params", "group 'counting_options' is not referenced by allOf", None, {"nextflow_schema.json"}),
    "selector_no_match": ("selectors", "withName: 'FINAL_MERGE_REPORT' matches no process", 12, {"conf/modules.config"}),
    "selector_wrong_path": ("selectors", "withName: 'DEMO:SEQTK_COUNT' matches no process", 8, {"conf/modules.config"}),
    "module_no_container": ("modules", "SEQTK_COUNT has no container directive", 1, {"modules/local/seqtk/count/main.nf"}),
    "module_no_conda": ("modules", "SEQTK_COUNT has no conda directive", 1, {"modules/local/seqtk/count/main.nf"}),
    "module_no_environment": ("modules", "environment.yml, which is missing", 1, {"modules/local/seqtk/count/environment.yml"}),
    "module_no_stub": ("modules", "SEQTK_COUNT has no stub: section", 1, {"modules/local/seqtk/count/main.nf"}),
    "module_no_versions": ("modules", "SEQTK_COUNT has no versions output", 1,
                           {"modules/local/seqtk/count/main.nf", "subworkflows/local/fastq_count/main.nf"}),
    "module_reads_params": ("modules", "the module reads params.min_count", 25, {"modules/local/seqtk/count/main.nf"}),
    "module_no_nftest": ("modules", "has no nf-test file", None, {"modules/local/seqtk/count/tests/main.nf.test"}),
    "module_nftest_wrong_process": ("modules", "process is 'SEQTK_COMP', expected \"SEQTK_COUNT\"", None,
                                    {"modules/local/seqtk/count/tests/main.nf.test"}),
    "module_nftest_no_stub": ("modules", 'no test with options "-stub"', None, {"modules/local/seqtk/count/tests/main.nf.test"}),
}  # fmt: skip


@cache
def pipeline(root: Path):
    """One tree parsed once per session."""
    require_groovy()
    return load_pipeline(root)


@cache
def checked(root: Path) -> dict:
    return run_checks(pipeline(root))


def describe(problems) -> str:
    return "\n".join(str(p) for p in problems)


# ---------------------------------------------------------------- the real pipeline


@pytest.mark.parametrize("check", list(CHECKS))
def test_pipeline_passes(check):
    if not (REPO / "main.nf").is_file():
        pytest.skip("the pipeline (main.nf) is not written yet")
    problems = checked(REPO)[check]
    assert not problems, f"{check}: {len(problems)} problem(s)\n{describe(problems)}"


# ---------------------------------------------------------------- the fixtures


def test_clean_fixture_passes_every_check():
    results = checked(CLEAN)
    assert not any(results.values()), describe(p for problems in results.values() for p in problems)


def test_every_fault_fixture_is_listed():
    found = {p.name for p in FAULTS_DIR.iterdir() if p.is_dir()} - {"clean"}
    assert found == set(FAULTS)


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_differs_from_clean_only_in_its_files(fault):
    assert differing_files(CLEAN, FAULTS_DIR / fault) == FAULTS[fault][3]


@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_is_caught_by_its_check_only(fault):
    check, text, line, _ = FAULTS[fault]
    results = checked(FAULTS_DIR / fault)
    caught = [p for p in results[check] if text in p.message]
    assert caught, f"{check} did not report {text!r}; it reported:\n{describe(results[check])}"
    assert caught[0].line == line, str(caught[0])
    others = [p for name, problems in results.items() if name != check for p in problems]
    assert not others, f"other checks also fired:\n{describe(others)}"


def differing_files(left: Path, right: Path, prefix: str = "") -> set[str]:
    """Relative paths of files added, removed or changed between two trees."""
    cmp = filecmp.dircmp(left, right, ignore=["__pycache__"])
    # dircmp compares common files by size and mtime only: compare their bytes
    _, mismatch, errors = filecmp.cmpfiles(left, right, cmp.common_files, shallow=False)
    changed = {prefix + name for name in mismatch + errors + cmp.common_funny}
    for root, names in ((left, cmp.left_only), (right, cmp.right_only)):
        for name in names:  # a directory on one side only counts by its files (git keeps no empty directories)
            path = root / name
            files = [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
            changed |= {prefix + str(f.relative_to(root)) for f in files}
    for sub in cmp.common_dirs:
        changed |= differing_files(left / sub, right / sub, f"{prefix}{sub}/")
    return changed


# ---------------------------------------------------------------- the withName rule


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [
        ("SEQTK_COUNT", True),  # the simple name
        ("SEQTK", False),  # a whole-name match, not a substring
        ("FINAL_MERGE", True),  # an include alias
        ("REPORT_MERGE", True),  # the name the alias points to
        (".*:FINAL_MERGE", True),  # fully qualified DEMO:FINAL_MERGE
        ("DEMO:FASTQ_COUNT:SEQTK_COUNT", True),
        ("DEMO:SEQTK_COUNT", False),  # a qualified name must follow the real call path
        ("FASTQ_COUNT:SEQTK_.*", False),  # qualified names start at the top workflow
        (".*:SEQTK_.*", True),
        ("NOPE|SEQTK_COUNT", True),
        ("!SEQTK_COUNT", True),  # negated: some other process exists
    ],
)
def test_selector_rule(pattern, matches):
    names = process_names(pipeline(CLEAN))
    assert selector_matches(pattern, names) is matches
