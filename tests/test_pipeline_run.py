"""`nextflow run . -profile test` and its `-resume`, as a user runs them (tests/run_test_profile.sh): every task
cached on resume with byte-identical outputs, every documented output published, every MultiQC section present,
the software versions of every process collected."""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO

pytestmark = pytest.mark.slow


def trace(pipeline_run: Path, run: str) -> pd.DataFrame:
    return pd.read_csv(pipeline_run / f"results/pipeline_info/execution_trace_{run}.txt", sep="\t")


def published(pipeline_run: Path) -> list[str]:
    results = pipeline_run / "results"
    return sorted(str(path.relative_to(results)) for path in results.rglob("*") if path.is_file())


def documented_outputs() -> list[tuple[str, bool]]:
    """(glob, always) for each row of the table under '## Every file' in docs/output.md: `path` | when | ..."""
    text = (REPO / "docs/output.md").read_text()
    section = text[text.index("## Every file") :]
    rows = re.findall(r"^\| `([^`]+)` \| ([^|]+) \|", section, flags=re.MULTILINE)
    assert rows, "docs/output.md has no '## Every file' table"
    return [(re.sub(r"<[^>]+>", "*", path), when.strip() == "always") for path, when in rows]


def test_resume_runs_no_task_again(pipeline_run):
    first, resumed = trace(pipeline_run, "first"), trace(pipeline_run, "resume")
    assert (first["status"] == "COMPLETED").all()
    assert len(resumed) == len(first)
    not_cached = resumed.loc[resumed["status"] != "CACHED", "name"].tolist()
    assert not not_cached, f"run again on -resume: {not_cached}"


def test_resume_outputs_are_byte_identical(pipeline_run):
    first = (pipeline_run / "first.md5").read_text().splitlines()
    resumed = (pipeline_run / "resume.md5").read_text().splitlines()
    assert len(first) > 100
    assert first == resumed


def test_every_documented_output_is_published_and_every_output_documented(pipeline_run):
    files = published(pipeline_run)
    documented = documented_outputs()
    missing = [pattern for pattern, always in documented if always and not fnmatch.filter(files, pattern)]
    assert not missing, f"documented in docs/output.md but not published: {missing}"
    undocumented = [f for f in files if not any(fnmatch.fnmatch(f, pattern) for pattern, _ in documented)]
    assert not undocumented, f"published but not in docs/output.md: {undocumented[:20]}"


def test_multiqc_report_has_every_custom_section(pipeline_run):
    """Every section the MultiQC config orders is in the report: as a section, or (plot_type generalstats) as
    General Statistics columns."""
    results = pipeline_run / "results/multiqc"
    report = (results / "multiqc_report.html").read_text()
    data = json.loads((results / "multiqc_data/multiqc_data.json").read_text())
    general_stats = json.dumps(data["report_general_stats_headers"])
    config = yaml.safe_load((REPO / "assets/multiqc_config.yml").read_text())
    ours = [name for name in config["report_section_order"] if name.startswith("mage")]
    absent = [name for name in ours if f'id="{name}"' not in report and name not in general_stats]
    assert len(ours) >= 15
    assert not absent, f"MultiQC sections missing from the report: {absent}"


def test_software_versions_of_every_process_are_collected(pipeline_run):
    processes = {name.split(" ")[0] for name in trace(pipeline_run, "first")["name"]}
    versions = yaml.safe_load((pipeline_run / "results/pipeline_info/mage_software_mqc_versions.yml").read_text())
    listed = {name.split(":")[-1] for name in versions}
    missing = {p.split(":")[-1] for p in processes} - listed - {"MULTIQC_REPORT"}  # MultiQC reads the file it would add to
    assert not missing, f"processes whose versions.yml is not collected: {sorted(missing)}"
    assert "Workflow" in versions and "Nextflow" in versions["Workflow"]


def test_planted_swap_never_reaches_the_phenotypes(pipeline_run, test_world):
    truth = pd.read_csv(test_world / "truth/libraries.tsv", sep="\t", keep_default_na=False)
    swapped = truth.loc[truth["planted_issue"].str.contains("swap")]
    bed = pipeline_run / "results/phenotypes/expression/expression.inverse_normal_tmm.bed.gz"
    mapped = set(pd.read_csv(bed, sep="\t", nrows=0).columns[4:])
    focal = pd.read_csv(pipeline_run / "results/expression/focal_libraries.tsv", sep="\t")
    assert len(swapped) == 2
    assert not set(swapped["library"]) & set(focal["library"])
    # a swapped library's labelled individual is mapped only through another, clean library of theirs
    for _, row in swapped.iterrows():
        if row["labelled_individual"] in mapped:
            assert focal.set_index("individual").loc[row["labelled_individual"], "library"] != row["library"]
