"""IDENTITY_SITES, IDENTITY_SEXCHECK, IDENTITY_CONCORDANCE and IDENTITY_GATE rendered and run. IDENTITY_SITES is
checked against bcftools (site selection) and bcftools query (genotypes); the others run on small inputs here, and
on the whole test world in tests/test_identity_gate.py."""

from __future__ import annotations

import gzip
import re
import subprocess
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from conftest import require_tool
from magelib.identity.sites import Panel, read_panel, write_panel
from magelib.io.gtf import read_features
from nftools.render import render_process

DOSAGE = {"0|0": 0, "0|1": 1, "1|0": 1, "1|1": 2, "0": 0, "1": 2, "./.": -1, ".": -1}


def config_args(repo, process: str) -> str:
    config = (repo / "conf" / "modules" / "identity.config").read_text()
    return re.search(rf"withName: '{process}'.*?ext.args\s*=\s*'([^']*)'", config, re.S).group(1)


@pytest.fixture
def world_inputs(test_world, tmp_path):
    for name in ("genotypes.vcf.gz", "genotypes.vcf.gz.tbi"):
        (tmp_path / name).symlink_to(test_world / "genotypes" / name)
    (tmp_path / "genes.gtf").symlink_to(test_world / "reference" / "genes.gtf")
    return tmp_path


def run_sites(workdir, args):
    r = render_process(
        "modules/local/identity/sites/main.nf",
        inputs={"vcf": "genotypes.vcf.gz", "index": "genotypes.vcf.gz.tbi", "gtf": "genes.gtf"},
        ext={"args": args},
    )
    r.run(workdir)
    r.check_outputs(workdir)
    return pd.read_csv(workdir / "identity_sites.tsv", sep="\t", header=None, names=["chrom", "pos"])


def test_sites_match_bcftools(world_inputs):
    """With no thinning, the sites are bcftools' biallelic SNPs in the GTF's exons with minor-allele count / AN
    >= 0.05 (computed exactly, so that AC/AN = 0.05 is kept), on the autosomes: bcftools counts a haploid male chrX
    call as one allele, we count it as a homozygote (MAGE's 0/2 coding)."""
    require_tool("bcftools")
    work = world_inputs
    sites = run_sites(work, "--min-maf 0.05 --min-distance 0")
    exons = read_features(work / "genes.gtf", "exon")
    bed = exons.assign(start=exons["start"] - 1)[["chrom", "start", "end"]]
    bed.to_csv(work / "exons.bed", sep="\t", header=False, index=False)
    view = ["bcftools", "view", "-R", str(work / "exons.bed"), "-v", "snps", "-m2", "-M2", "-Ou", str(work / "genotypes.vcf.gz")]
    snps = subprocess.run(view, capture_output=True, check=True).stdout
    query = ["bcftools", "query", "-f", "%CHROM\t%POS\t%INFO/AC\t%INFO/AN\n"]
    table = subprocess.run(query, input=snps, capture_output=True, check=True).stdout.decode()
    expected = set()
    for chrom, pos, ac, an in (line.split("\t") for line in table.splitlines()):
        if chrom in ("chr1", "chr2") and Fraction(min(int(ac), int(an) - int(ac)), int(an)) >= Fraction(1, 20):
            expected.add((chrom, int(pos)))
    ours = {s for s in zip(sites["chrom"], sites["pos"], strict=True) if s[0] in ("chr1", "chr2")}
    assert ours == expected and len(ours) > 400

    # Genotypes: the panel's dosages equal bcftools query's GT strings
    panel = read_panel(work / "identity_panel.parquet")
    regions = work / "sites.tsv"
    sites.to_csv(regions, sep="\t", header=False, index=False)
    gts = subprocess.run(
        ["bcftools", "query", "-R", str(regions), "-f", "%CHROM\t%POS[\t%GT]\n", str(work / "genotypes.vcf.gz")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    samples = subprocess.run(
        ["bcftools", "query", "-l", str(work / "genotypes.vcf.gz")], capture_output=True, text=True
    ).stdout.split()
    assert panel.individuals == samples
    rows = {(f[0], int(f[1])): [DOSAGE[g] for g in f[2:]] for f in (line.split("\t") for line in gts.splitlines())}
    expected_dosage = np.array([rows[(c, p)] for c, p in zip(panel.chrom, panel.pos, strict=True)])
    np.testing.assert_array_equal(panel.genotypes, expected_dosage)


def test_sites_are_thinned(repo, world_inputs):
    sites = run_sites(world_inputs, config_args(repo, "IDENTITY_SITES"))
    gaps = sites.groupby("chrom")["pos"].diff().dropna()
    assert (gaps >= 100).all() and len(sites) > 300


def test_sexcheck_module(tmp_path):
    (tmp_path / "genes.gtf").write_text(
        'chrX\tS\tgene\t1\t100\t.\t+\t.\tgene_id "G1"; gene_name "XIST";\n'
        'chrY\tS\tgene\t1\t100\t.\t+\t.\tgene_id "G2"; gene_name "RPS4Y1";\n'
    )
    (tmp_path / "tpm.tsv").write_text("gene_id\tL1\tL2\nG1\t50\t0\nG2\t0\t40\n")
    (tmp_path / "samples.tsv").write_text("sample\tindividual\tsex\nL1\tI1\tfemale\nL2\tI2\tfemale\n")
    r = render_process(
        "modules/local/identity/sexcheck/main.nf", inputs={"tpm": "tpm.tsv", "gtf": "genes.gtf", "samples": "samples.tsv"}
    )
    r.run(tmp_path)
    r.check_outputs(tmp_path)
    out = pd.read_csv(tmp_path / "sex_check.tsv", sep="\t", index_col="sample")
    assert out["verdict"].to_dict() == {"L1": "ok", "L2": "mismatch"}


def test_concordance_module(tmp_path):
    rng = np.random.default_rng(3)
    genotypes = rng.integers(0, 3, size=(200, 3)).astype(np.int8)
    panel = Panel(
        chrom=np.array(["chr1"] * 200, dtype=object),
        pos=np.arange(1, 201, dtype=np.int64) * 10,
        ref=np.array(["A"] * 200, dtype=object),
        alt=np.array(["G"] * 200, dtype=object),
        individuals=["I1", "I2", "I3"],
        genotypes=genotypes,
    )
    write_panel(panel, tmp_path / "identity_panel.parquet")
    (tmp_path / "allele_counts").mkdir()
    with gzip.open(tmp_path / "allele_counts" / "L1.allele_counts.tsv.gz", "wt") as handle:
        handle.write("#library\tL1\n")
        for pos, g in zip(panel.pos, genotypes[:, 1], strict=True):  # L1 carries I2's alleles, 20 reads a site
            ref, alt = {0: (20, 0), 1: (10, 10), 2: (0, 20)}[int(g)]
            handle.write(f"chr1\t{pos}\tN\tA,G,<*>\t0,{ref},{alt},0\n")
    (tmp_path / "samples.tsv").write_text("sample\tindividual\nL1\tI1\n")
    r = render_process(
        "modules/local/identity/concordance/main.nf",
        inputs={"counts": ["allele_counts/L1.allele_counts.tsv.gz"], "panel": "identity_panel.parquet", "samples": "samples.tsv"},
    )
    r.run(tmp_path)
    r.check_outputs(tmp_path)
    row = pd.read_csv(tmp_path / "genotype_concordance.tsv", sep="\t").iloc[0]
    assert row["verdict"] == "swap" and row["best_individual"] == "I2" and row["best_concordance"] == 1.0


def test_gate_module_with_skipped_checks(tmp_path):
    (tmp_path / "samples.tsv").write_text("sample\tindividual\nL1\tI1\nL2\tI2\n")
    r = render_process(
        "modules/local/identity/gate/main.nf",
        inputs={"samples": "samples.tsv", "sex_check": [], "concordance": []},
        ext={"args": "--action drop"},
    )
    assert "--sex-check" not in r.script and "--concordance" not in r.script
    r.run(tmp_path)
    r.check_outputs(tmp_path)
    assert pd.read_csv(tmp_path / "identity_passing.tsv", sep="\t")["sample"].tolist() == ["L1", "L2"]


@pytest.mark.parametrize(
    ("module", "inputs"),
    [
        ("sites", {"vcf": "g.vcf.gz", "index": "g.vcf.gz.tbi", "gtf": "genes.gtf"}),
        ("sexcheck", {"tpm": "tpm.tsv", "gtf": "genes.gtf", "samples": "samples.tsv"}),
        ("concordance", {"counts": ["allele_counts/a.tsv.gz"], "panel": "p.parquet", "samples": "samples.tsv"}),
        ("gate", {"samples": "samples.tsv", "sex_check": "sex.tsv", "concordance": "conc.tsv"}),
    ],
)
def test_stubs(tmp_path, module, inputs):
    r = render_process(f"modules/local/identity/{module}/main.nf", inputs=inputs, stub=True)
    r.run(tmp_path)
    r.check_outputs(tmp_path)
