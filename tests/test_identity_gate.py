"""identity_gate.py: drop / fail / warn on constructed check results, and the acceptance run of issue 3 on the
bundled test world: every identity module rendered and run with the real tools (STAR two-pass with MAGE's options,
samtools, bcftools), and the planted swap, sex mismatch and triplicate found as truth/libraries.tsv says."""

from __future__ import annotations

import json
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor

import identity_gate
import numpy as np
import pandas as pd
import pytest

from conftest import require_tool, run_replicates_resolve
from magelib.cli import run

SAMPLES = pd.DataFrame(
    {
        "sample": ["L1", "L2", "L3", "L4", "L5"],
        "individual": ["I1", "I2", "I3", "I4", "I5"],
        "sex": ["female", "male", "male", "female", "male"],
    }
)
SEX = pd.DataFrame(
    {
        "sample": ["L1", "L2", "L3", "L4", "L5"],
        "verdict": ["ok", "mismatch", "ok", "ambiguous", "ok"],
        "reason": ["", "expression says female, samplesheet says male", "", "XIST and chrY both on", ""],
    }
)
CONCORDANCE = pd.DataFrame(
    {
        "sample": ["L1", "L2", "L3", "L4"],
        "verdict": ["ok", "ok", "swap", "ambiguous"],
        "reason": ["", "", "RNA matches I9, not the labelled I3", "ties with I7"],
        "best_individual": ["I1", "I2", "I9", "I4"],
    }
)


def gate(tmp_path, *extra, sex=SEX, concordance=CONCORDANCE):
    SAMPLES.to_csv(tmp_path / "samples.tsv", sep="\t", index=False)
    argv = [
        "--samples",
        str(tmp_path / "samples.tsv"),
        "--out",
        str(tmp_path / "pass.tsv"),
        "--status",
        str(tmp_path / "status.tsv"),
    ]
    if sex is not None:
        sex.to_csv(tmp_path / "sex.tsv", sep="\t", index=False)
        argv += ["--sex-check", str(tmp_path / "sex.tsv")]
    if concordance is not None:
        concordance.to_csv(tmp_path / "conc.tsv", sep="\t", index=False)
        argv += ["--concordance", str(tmp_path / "conc.tsv")]
    return run(identity_gate.main, argv + list(extra))


def outputs(tmp_path):
    passing = pd.read_csv(tmp_path / "pass.tsv", sep="\t", keep_default_na=False)
    status = pd.read_csv(tmp_path / "status.tsv", sep="\t", index_col="sample")
    return passing, status


def test_help():
    proc = subprocess.run(["identity_gate.py", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "--action" in proc.stdout


def test_drop(tmp_path):
    assert gate(tmp_path) == 0
    passing, status = outputs(tmp_path)
    assert list(passing["sample"]) == ["L1", "L4", "L5"]
    assert status["status"].to_dict() == {"L1": "kept", "L2": "dropped", "L3": "dropped", "L4": "flagged", "L5": "flagged"}
    assert status.at["L3", "reason"] == "sample swap: RNA matches I9, not the labelled I3"
    assert "sex mismatch" in status.at["L2", "reason"]
    assert status.at["L4", "reason"] == "sex ambiguous: XIST and chrY both on; genotype ambiguous: ties with I7"
    assert status.at["L5", "reason"] == "no genotype-concordance result"
    assert passing.set_index("sample").at["L1", "matched_individual"] == "I1"


def test_warn_keeps_and_flags(tmp_path):
    assert gate(tmp_path, "--action", "warn") == 0
    passing, status = outputs(tmp_path)
    assert list(passing["sample"]) == ["L1", "L2", "L3", "L4", "L5"]
    assert status.loc[["L2", "L3"], "status"].eq("flagged").all() and status.at["L1", "status"] == "kept"


def test_fail_names_every_failing_library(tmp_path, capsys):
    assert gate(tmp_path, "--action", "fail") == 1
    err = capsys.readouterr().err
    assert err.startswith("ERROR: identity check failed for 2 libraries (identity_action = fail): ")
    assert "L2 (sex mismatch" in err and "L3 (sample swap: RNA matches I9" in err
    assert not (tmp_path / "pass.tsv").exists()


def test_skipped_checks_pass_everyone(tmp_path):
    assert gate(tmp_path, sex=None, concordance=None) == 0
    passing, status = outputs(tmp_path)
    assert len(passing) == 5 and status["status"].eq("kept").all()
    assert status["reason"].str.endswith("(sex check and genotype concordance not run)").all()


def test_unknown_library_in_results(tmp_path, capsys):
    sex = pd.concat([SEX, pd.DataFrame({"sample": ["ZZ"], "verdict": ["ok"], "reason": [""]})])
    assert gate(tmp_path, sex=sex) == 1
    assert "sex check results name library 'ZZ', which is not in the sample table" in capsys.readouterr().err


# ----------------------------------------------------------------------------------------------------------------
# Acceptance on the test world (issue 3)


def star_args(repo, intron_max: int) -> str:
    """STAR_ALIGN's ext.args from conf/modules/identity.config (MAGE's options), with the intron and mate-gap
    limits capped to the test genome's scale (STAR's search up to 1 Mb costs time for nothing on 700 kb)."""
    config = (repo / "conf" / "modules" / "identity.config").read_text()
    block = config[config.index("withName: 'STAR_ALIGN'") :]
    args = " ".join(re.findall(r"'(--[^']*)'", block[: block.index("].join(' ')")]))
    args = re.sub(r"--alignIntronMax \d+", f"--alignIntronMax {intron_max}", args)
    return re.sub(r"--alignMatesGapMax \d+", f"--alignMatesGapMax {intron_max}", args)


def config_args(repo, process: str) -> str:
    config = (repo / "conf" / "modules" / "identity.config").read_text()
    return re.search(rf"withName: '{process}'.*?ext.args\s*=\s*'([^']*)'", config, re.S).group(1)


@pytest.fixture(scope="module")
def world_run(repo, test_world, tmp_path_factory):
    """Align the planted libraries and four others, then run every identity module as the subworkflow does."""
    require_tool("STAR", "samtools", "bcftools")
    import fastq_check

    from magelib.io.gtf import read_features
    from nftools.render import render_process

    work = tmp_path_factory.mktemp("identity_world")
    truth = pd.read_csv(test_world / "truth" / "libraries.tsv", sep="\t", index_col="library")
    planted = list(truth.index[truth["planted_issue"] != "none"])
    libraries = sorted(planted + list(truth.index[truth["planted_issue"] == "none"][:4]))
    reference = test_world / "reference"
    for name in ("genome.fa", "genes.gtf"):
        (work / name).symlink_to(reference / name)
    for name in ("genotypes.vcf.gz", "genotypes.vcf.gz.tbi"):
        (work / name).symlink_to(test_world / "genotypes" / name)
    sheet = pd.read_csv(test_world / "samplesheet.csv")
    sheet[sheet["sample"].isin(libraries)].to_csv(work / "samples.tsv", sep="\t", index=False)

    render_process(
        "modules/local/star/genomegenerate/main.nf",
        inputs={"fasta": "genome.fa", "gtf": "genes.gtf"},
        ext={"args": "--sjdbOverhang 49"},
    ).run(work)

    def align(library):
        lib_dir = work / library
        lib_dir.mkdir()
        fastqs = [f"{library}_R{m}.fastq.gz" for m in (1, 2)]
        for name in fastqs:
            (lib_dir / name).symlink_to(test_world / "fastq" / name)
        (lib_dir / "star").symlink_to(work / "star")
        meta = {"id": library, "single_end": False}
        star = render_process(
            "modules/local/star/align/main.nf",
            inputs={"meta": meta, "reads": fastqs, "wasp_vcf": [], "index": "star"},
            ext={"args": star_args(repo, 50000)},
            cpus=1,
        )
        star.run(lib_dir)
        index = render_process("modules/local/samtools/index/main.nf", inputs={"meta": meta, "bam": f"{library}.bam"}, cpus=1)
        index.run(lib_dir)
        argv = [str(lib_dir / f) for f in fastqs] + ["--sample", library, "--out", str(work / f"{library}.fastq_check.json")]
        assert run(fastq_check.main, argv) == 0
        return library

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(align, libraries))

    sites = render_process(
        "modules/local/identity/sites/main.nf",
        inputs={"vcf": "genotypes.vcf.gz", "index": "genotypes.vcf.gz.tbi", "gtf": "genes.gtf"},
        ext={"args": config_args(repo, "IDENTITY_SITES")},
    )
    sites.run(work)
    sites.check_outputs(work)
    (work / "allele_counts").mkdir()
    for library in libraries:
        lib_dir = work / library
        (lib_dir / "identity_sites.tsv").symlink_to(work / "identity_sites.tsv")
        meta = {"id": library, "single_end": False}
        pileup = render_process(
            "modules/local/bcftools/mpileup/main.nf",
            inputs={"meta": meta, "bam": f"{library}.bam", "bai": f"{library}.bam.bai", "sites": "identity_sites.tsv"},
            ext={"args": config_args(repo, "BCFTOOLS_MPILEUP")},
        )
        pileup.run(lib_dir)
        (work / "allele_counts" / f"{library}.allele_counts.tsv.gz").symlink_to(lib_dir / f"{library}.allele_counts.tsv.gz")

    concordance = render_process(
        "modules/local/identity/concordance/main.nf",
        inputs={
            "counts": [f"allele_counts/{lib}.allele_counts.tsv.gz" for lib in libraries],
            "panel": "identity_panel.parquet",
            "samples": "samples.tsv",
        },
        ext={"args": "--min-concordance 0.9 --min-sites 30 --min-depth 5"},
    )
    concordance.run(work)
    concordance.check_outputs(work)

    # Gene matrices from STAR's per-gene counts (column 2: unstranded); TPM over the longest transcript
    counts = pd.concat(
        {
            lib: pd.read_csv(work / lib / f"{lib}.ReadsPerGene.out.tab", sep="\t", header=None, index_col=0, skiprows=4)[1]
            for lib in libraries
        },
        axis=1,
    )
    exons = read_features(reference / "genes.gtf", "exon")
    exons["length"] = exons["end"] - exons["start"] + 1
    length = exons.groupby(["gene_id", "transcript_id"])["length"].sum().groupby("gene_id").max().reindex(counts.index)
    rate = counts.div(length, axis=0)
    (rate / rate.sum() * 1e6).to_csv(work / "gene_tpm.tsv", sep="\t", index_label="gene_id")
    counts.to_csv(work / "gene_counts.tsv", sep="\t", index_label="gene_id")
    pd.DataFrame({lib: length for lib in libraries}).to_csv(work / "gene_lengths.tsv", sep="\t", index_label="gene_id")

    sexcheck = render_process(
        "modules/local/identity/sexcheck/main.nf",
        inputs={"tpm": "gene_tpm.tsv", "gtf": "genes.gtf", "samples": "samples.tsv"},
        ext={"args": config_args(repo, "IDENTITY_SEXCHECK")},
    )
    sexcheck.run(work)
    sexcheck.check_outputs(work)
    gate_task = render_process(
        "modules/local/identity/gate/main.nf",
        inputs={"samples": "samples.tsv", "sex_check": "sex_check.tsv", "concordance": "genotype_concordance.tsv"},
        ext={"args": "--action drop"},
    )
    gate_task.run(work)
    (work / "read_pairs").mkdir()
    for library in libraries:
        (work / "read_pairs" / f"{library}.fastq_check.json").symlink_to(work / f"{library}.fastq_check.json")
    run_replicates_resolve(work, libraries)
    return work, truth.loc[libraries], counts


@pytest.mark.slow
def test_world_swap_found_and_named(world_run):
    work, truth, _ = world_run
    results = pd.read_csv(work / "genotype_concordance.tsv", sep="\t", index_col="sample")
    swapped = truth.index[truth["planted_issue"].str.contains("swap")]
    assert set(results.index[results["verdict"] == "swap"]) == set(swapped)
    for library in swapped:
        assert results.at[library, "best_individual"] == truth.at[library, "true_individual"]
    others = results.index.difference(swapped)
    assert results.loc[others, "verdict"].eq("ok").all()
    assert (results.loc[others, "best_individual"] == truth.loc[others, "true_individual"]).all()


@pytest.mark.slow
def test_world_sex_mismatch_found(world_run):
    work, truth, _ = world_run
    sex = pd.read_csv(work / "sex_check.tsv", sep="\t", index_col="sample")
    assert (sex["inferred_sex"] == truth.loc[sex.index, "true_sex"]).all()
    assert list(sex.index[sex["verdict"] == "mismatch"]) == list(
        truth.index[truth["planted_issue"].str.contains("wrong_sex_label")]
    )


@pytest.mark.slow
def test_world_gate_drops_and_names_true_individual(world_run):
    work, truth, _ = world_run
    status = pd.read_csv(work / "identity.status.tsv", sep="\t", index_col="sample")
    expected = set(truth.index[truth["planted_issue"].str.contains("swap|wrong_sex_label")])
    assert set(status.index[status["status"] == "dropped"]) == expected
    for library in truth.index[truth["planted_issue"].str.contains("swap")]:
        assert f"RNA matches {truth.at[library, 'true_individual']}" in status.at[library, "reason"]
    passing = pd.read_csv(work / "identity_passing.tsv", sep="\t")
    assert set(passing["sample"]) == set(truth.index) - expected


@pytest.mark.slow
def test_world_triplicate_resolves_to_deepest_library(world_run):
    work, truth, counts = world_run
    focal = pd.read_csv(work / "focal_libraries.tsv", sep="\t", index_col="individual")
    triplicate = truth[truth["planted_issue"].str.contains("triplicate")]
    individual = triplicate["labelled_individual"].iat[0]
    # The swapped original library is gone; of the two left, the deepest by the FASTQ read pairs
    left = triplicate[~triplicate["planted_issue"].str.contains("swap")]
    assert focal.at[individual, "library"] == left["read_pairs"].idxmax()
    assert focal.at[individual, "read_pairs"] == left["read_pairs"].max()
    collapsed = pd.read_csv(work / "gene_counts.collapsed.tsv", sep="\t", index_col="gene_id")
    np.testing.assert_allclose(collapsed[individual], counts[list(left.index)].sum(axis=1))
    focal_counts = pd.read_csv(work / "gene_counts.focal.tsv", sep="\t", index_col="gene_id")
    assert individual in focal_counts.columns
    # Individuals whose only library was dropped have no column
    dropped_only = {"NA99631", "NA91839"} & set(truth["labelled_individual"])
    assert not dropped_only & set(focal_counts.columns)


@pytest.mark.slow
def test_world_status_fragments_merge(world_run, tmp_path):
    """The fragments follow the contract: SAMPLE_STATUS's merge accepts them and keeps every reason."""
    import sample_status

    work, truth, _ = world_run
    fragments = [
        work / n
        for n in ("sexcheck.status.tsv", "genotype_concordance.status.tsv", "identity.status.tsv", "replicates.status.tsv")
    ]
    argv = [
        "--samples",
        str(work / "samples.tsv"),
        "--out",
        str(tmp_path / "status.tsv"),
        "--multiqc",
        str(tmp_path / "status_mqc.tsv"),
    ]
    assert run(sample_status.main, argv + [str(f) for f in fragments]) == 0
    merged = pd.read_csv(tmp_path / "status.tsv", sep="\t")
    assert len(merged) == len(truth)
    mqc = [json.loads((work / f).read_text()) for f in ("sex_check_mqc.json", "genotype_concordance_heatmap_mqc.json")]
    assert all(m["id"].startswith("mage_") for m in mqc)
