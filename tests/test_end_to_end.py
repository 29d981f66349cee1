"""The science end to end on the simulated test world, checked against its planted truth.

Reads -> FASTQ check -> Salmon -> tximport -> STAR -> sex check + genotype concordance -> identity gate ->
replicate resolution -> filter/TMM/INT -> genotype PCs + expression PCs + sex -> genotype store -> cis-QTL
permutations in two chunks -> genome-wide q-values. Each step runs the same bin/ CLI or tool, with the same
arguments, as the pipeline's module (STAR's MAGE arguments are read from conf/modules/identity.config).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import REPO, require_tool

pytestmark = pytest.mark.slow

THREADS = "2"


def sh(cmd: list[str] | str, cwd: Path) -> str:
    """Run a command (a list, or a bash pipeline string); fail the test with the tail of stderr."""
    shell = isinstance(cmd, str)
    args = ["bash", "-euo", "pipefail", "-c", cmd] if shell else [str(c) for c in cmd]
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"{args[:4]} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc.stdout


def star_mage_args() -> list[str]:
    """STAR_ALIGN's ext.args from the pipeline's config, so this test and the pipeline cannot drift apart."""
    config = (REPO / "conf/modules/identity.config").read_text()
    block = config[config.index("withName: 'STAR_ALIGN'") :]
    block = block[: block.index("].join")]
    return [word for option in re.findall(r"'(--[^']+)'", block) for word in option.split()]


@dataclass
class WorldRun:
    out: Path
    samples: pd.DataFrame
    status: pd.DataFrame
    focal: pd.DataFrame
    fdr: pd.DataFrame
    truth_libraries: pd.DataFrame
    truth_eqtl: pd.DataFrame
    truth_null: pd.DataFrame


def quantify(world: Path, out: Path, samples: pd.DataFrame) -> None:
    transcripts = world / "reference/transcripts.fa"
    sh(["salmon", "index", "-t", transcripts, "-i", "salmon_index", "-k", "31", "--gencode", "-p", THREADS], out)
    for row in samples.itertuples():
        summary = f"reads/{row.sample}.fastq_check.json"
        sh(["fastq_check.py", "--sample", row.sample, "--out", summary, row.fastq_1, row.fastq_2], out)
        sh(["salmon", "quant", "-i", "salmon_index", "-l", "A", "-1", row.fastq_1, "-2", row.fastq_2,
            "-p", THREADS, "-o", f"quant/{row.sample}", "--quiet"], out)  # fmt: skip
    quants = [f"quant/{s}" for s in samples["sample"]]
    jsons = [f"reads/{s}.fastq_check.json" for s in samples["sample"]]
    gtf = world / "reference/genes.gtf"
    sh(["tximport_genes.py", "--quant", *quants, "--gtf", gtf, "--read-pairs", *jsons, "--outdir", "genes"], out)


def align_and_check_identity(world: Path, out: Path, samples: pd.DataFrame) -> None:
    sh(["STAR", "--runMode", "genomeGenerate", "--runThreadN", THREADS, "--genomeDir", "star_index",
        "--genomeFastaFiles", world / "reference/genome.fa", "--sjdbGTFfile", world / "reference/genes.gtf",
        "--sjdbOverhang", "49", "--genomeSAindexNbases", "8", "--outFileNamePrefix", "star_index/"], out)  # fmt: skip
    vcf = world / "genotypes/genotypes.vcf.gz"
    sh(["identity_sites.py", "--vcf", vcf, "--gtf", world / "reference/genes.gtf", "--min-maf", "0.05",
        "--min-distance", "100", "--sites", "identity_sites.tsv", "--panel", "identity_panel.parquet"], out)  # fmt: skip
    for row in samples.itertuples():
        prefix = f"bam/{row.sample}."
        sh(["STAR", "--runMode", "alignReads", "--runThreadN", THREADS, "--genomeDir", "star_index",
            "--readFilesIn", row.fastq_1, row.fastq_2, "--readFilesCommand", "zcat", "--outFileNamePrefix", prefix,
            "--outSAMattrRGline", f"ID:{row.sample}", f"SM:{row.sample}", "--outSAMtype", "BAM", "SortedByCoordinate",
            *star_mage_args()], out)  # fmt: skip
        bam = f"{prefix}Aligned.sortedByCoord.out.bam"
        sh(["samtools", "index", bam], out)
        sh(f"{{ printf '#library\\t%s\\n' {row.sample}; bcftools mpileup --no-reference --annotate FORMAT/AD "
           f"--regions-file identity_sites.tsv --output-type u --min-MQ 10 --min-BQ 13 --max-depth 10000 --skip-indels "
           f"--no-BAQ {bam} | bcftools query --format '%CHROM\\t%POS\\t%REF\\t%ALT\\t[%AD]\\n'; }} "
           f"| bgzip -c > bam/{row.sample}.allele_counts.tsv.gz", out)  # fmt: skip
    counts = [f"bam/{s}.allele_counts.tsv.gz" for s in samples["sample"]]
    sh(["genotype_concordance.py", "--panel", "identity_panel.parquet", "--counts", *counts, "--samples", "samples.tsv",
        "--min-concordance", "0.9", "--min-sites", "30", "--min-depth", "5", "--outdir", "identity"], out)  # fmt: skip
    sh(["sex_check.py", "--tpm", "genes/gene_tpm.tsv", "--gtf", world / "reference/genes.gtf", "--samples", "samples.tsv",
        "--xist-min-tpm", "5", "--chry-min-tpm", "5", "--out", "identity/sex_check.tsv",
        "--status", "identity/sexcheck.status.tsv", "--mqc", "identity/sex_check_mqc.json"], out)  # fmt: skip
    sh(["identity_gate.py", "--samples", "samples.tsv", "--sex-check", "identity/sex_check.tsv",
        "--concordance", "identity/genotype_concordance.tsv", "--action", "drop",
        "--out", "identity/identity_passing.tsv", "--status", "identity/identity.status.tsv"], out)  # fmt: skip
    jsons = [f"reads/{s}.fastq_check.json" for s in samples["sample"]]
    sh(["resolve_replicates.py", "--counts", "genes/gene_counts.tsv", "--tpm", "genes/gene_tpm.tsv",
        "--lengths", "genes/gene_lengths.tsv", "--read-pairs", *jsons, "--samples", "samples.tsv",
        "--passing", "identity/identity_passing.tsv", "--selection", "max_reads", "--outdir", "focal"], out)  # fmt: skip


def phenotypes_and_covariates(world: Path, out: Path) -> None:
    focal = out / "focal"
    sh(["normalize_expression.py", "--counts", focal / "gene_counts.focal.tsv", "--tpm", focal / "gene_tpm.focal.tsv",
        "--lengths", focal / "gene_lengths.focal.tsv", "--gtf", world / "reference/genes.gtf", "--prefix", "expression",
        "--min-counts", "6", "--min-tpm", "0.1", "--min-sample-frac", "0.2", "--chromosomes", "autosomes_x"], out)  # fmt: skip
    individuals = pd.read_csv(focal / "focal_libraries.tsv", sep="\t")["individual"]
    (out / "keep.txt").write_text("\n".join(individuals) + "\n")
    vcf = world / "genotypes/genotypes.vcf.gz"
    sh(["plink2", "--vcf", vcf, "--keep", "keep.txt", "--max-alleles", "2", "--snps-only", "--maf", "0.01",
        "--autosome", "--set-all-var-ids", "@:#:$r:$a", "--make-pgen", "--out", "geno"], out)  # fmt: skip
    sh(["plink2", "--pfile", "geno", "--indep-pairwise", "200", "20", "0.2", "--out", "geno"], out)
    sh(["plink2", "--pfile", "geno", "--extract", "geno.prune.in", "--pca", "10", "--out", "geno"], out)
    sh(["hidden_factors.py", "--phenotypes", "expression.inverse_normal_tmm.bed.gz", "--prefix", "expression",
        "--n-factors", "auto", "--max-factors", "10", "--seed", "1"], out)  # fmt: skip
    sh(["assemble_covariates.py", "--phenotypes", "expression.inverse_normal_tmm.bed.gz", "--genotype-pcs", "geno.eigenvec",
        "--n-genotype-pcs", "5", "--hidden-factors", "expression.hidden_factors.tsv", "--samples", "samples.tsv",
        "--focal", focal / "focal_libraries.tsv", "--known-covariates", "sex", "--prefix", "qtl"], out)  # fmt: skip


def map_cis_qtls(world: Path, out: Path) -> None:
    sh(["prepare_genotypes.py", "--vcf", world / "genotypes/genotypes.vcf.gz", "--samples", "samples.tsv",
        "--out", "genotypes.store", "--maf", "0.01", "--par-regions", "chrX:1-21530"], out)  # fmt: skip
    for chunk in ("1", "2"):
        sh(["cis_qtl.py", "permutation", "--genotypes", "genotypes.store", "--phenotypes", "expression.inverse_normal_tmm.bed.gz",
            "--covariates", "qtl.covariates.txt", "--out", f"perm.{chunk}", "--permutations", "1000", "10000", "--seed", "1",
            "--chunk", chunk, "2"], out)  # fmt: skip
    chunks = sorted(str(p.name) for p in out.glob("perm.*.cis_qtl.txt.gz"))
    sh(["qtl_fdr.py", "--permutation", *chunks, "--out", "cis_qtl", "--fdr", "0.05"], out)


@pytest.fixture(scope="module")
def world_run(test_world, tmp_path_factory) -> WorldRun:
    require_tool("salmon", "STAR", "samtools", "bcftools", "bgzip", "tabix", "plink2")
    out = tmp_path_factory.mktemp("e2e")
    for sub in ("reads", "quant", "bam", "identity"):
        (out / sub).mkdir()
    sh(["check_samplesheet.py", test_world / "samplesheet.csv", "--vcf", test_world / "genotypes/genotypes.vcf.gz",
        "--out", "samples.tsv", "--status", "samplesheet.status.tsv"], out)  # fmt: skip
    samples = pd.read_csv(out / "samples.tsv", sep="\t", dtype=str, keep_default_na=False)
    quantify(test_world, out, samples)
    align_and_check_identity(test_world, out, samples)
    phenotypes_and_covariates(test_world, out)
    map_cis_qtls(test_world, out)
    fragments = sorted(out.glob("**/*.status.tsv"))
    sh(["sample_status.py", "--samples", "samples.tsv", "--out", "sample_status.tsv", "--multiqc", "sample_status_mqc.tsv",
        *fragments], out)  # fmt: skip
    truth = test_world / "truth"
    return WorldRun(
        out=out,
        samples=samples,
        status=pd.read_csv(out / "sample_status.tsv", sep="\t", keep_default_na=False),
        focal=pd.read_csv(out / "focal/focal_libraries.tsv", sep="\t"),
        fdr=pd.read_csv(next(out.glob("cis_qtl*.fdr.txt*")), sep="\t"),
        truth_libraries=pd.read_csv(truth / "libraries.tsv", sep="\t", keep_default_na=False),
        truth_eqtl=pd.read_csv(truth / "eqtl.tsv", sep="\t"),
        truth_null=pd.read_csv(truth / "null_genes.tsv", sep="\t"),
    )


def test_planted_identity_problems_are_dropped_before_mapping(world_run):
    truth = world_run.truth_libraries.set_index("library")
    status = world_run.status.set_index("sample")
    swapped = truth.index[truth["planted_issue"].str.contains("swap")]
    wrong_sex = truth.index[truth["planted_issue"].str.contains("wrong_sex")]
    assert len(swapped) == 2 and len(wrong_sex) == 1
    for library in [*swapped, *wrong_sex]:
        assert status.loc[library, "status"] == "dropped", status.loc[library].to_dict()
        assert library not in set(world_run.focal["library"])
    for library in swapped:  # the report names the individual whose RNA it is
        assert truth.loc[library, "true_individual"] in status.loc[library, "reason"]
    clean = truth.index[truth["planted_issue"] == "none"]
    assert (status.loc[clean, "status"] != "dropped").all()


def test_triplicate_resolves_to_its_deepest_passing_library(world_run):
    truth = world_run.truth_libraries
    triplicate = truth.loc[truth["planted_issue"].str.contains("triplicate")]
    individual = triplicate.loc[triplicate["planted_issue"] == "triplicate", "true_individual"].iat[0]
    passing = triplicate.loc[~triplicate["planted_issue"].str.contains("swap")]
    deepest = passing.loc[passing["read_pairs"].idxmax(), "library"]
    chosen = world_run.focal.set_index("individual").loc[individual, "library"]
    assert chosen == deepest


def test_covariates_line_up_with_the_phenotype_bed(world_run):
    bed_samples = pd.read_csv(world_run.out / "expression.inverse_normal_tmm.bed.gz", sep="\t", nrows=0).columns[4:]
    cov_samples = pd.read_csv(world_run.out / "qtl.covariates.txt", sep="\t", index_col=0, nrows=0).columns
    assert list(cov_samples) == list(bed_samples)
    assert set(bed_samples) == set(world_run.focal["individual"])


def test_planted_eqtls_are_found_and_null_genes_are_quiet(world_run):
    fdr = world_run.fdr.set_index("phenotype_id")
    egenes = set(fdr.index[fdr["qval"] <= 0.05])
    strong = set(world_run.truth_eqtl.loc[world_run.truth_eqtl["strength"] == "strong", "gene_id"]) & set(fdr.index)
    weak = set(world_run.truth_eqtl.loc[world_run.truth_eqtl["strength"] == "weak", "gene_id"]) & set(fdr.index)
    null = set(world_run.truth_null["gene_id"]) & set(fdr.index)
    power_strong = len(strong & egenes) / len(strong)
    power_weak = len(weak & egenes) / len(weak)
    false_rate = len(null & egenes) / len(null)
    print(f"mapped genes {len(fdr)}; power strong {power_strong:.2f} ({len(strong)}), weak {power_weak:.2f} ({len(weak)}); "
          f"false eGenes among {len(null)} null genes {false_rate:.3f}")  # fmt: skip
    assert len(strong) >= 15 and len(null) >= 20  # the filter kept enough of the planted genes to measure
    assert power_strong >= 0.9
    assert false_rate <= 0.05


def test_lead_variants_of_strong_eqtls_tag_the_planted_variant(world_run):
    """The best variant is the planted one or in strong LD with it (r2 >= 0.8 in the mapped individuals)."""
    fdr = world_run.fdr.set_index("phenotype_id")
    truth = world_run.truth_eqtl.loc[(world_run.truth_eqtl["strength"] == "strong")]
    truth = truth.loc[truth["causal_variants_in_gene"] == 1].set_index("gene_id")
    found = [g for g in truth.index if g in fdr.index and fdr.loc[g, "qval"] <= 0.05]
    store = world_run.out / "genotypes.store"
    dosages = {}
    for chrom in {c for c in truth.loc[found, "chrom"]}:
        variants = pd.read_parquet(store / f"{chrom}.variants.parquet")
        matrix = np.load(store / f"{chrom}.dosage.npy", mmap_mode="r")
        dosages.update(dict(zip(variants["variant_id"], np.asarray(matrix, dtype=float), strict=True)))
    tagged = []
    for gene in found:
        lead, causal = fdr.loc[gene, "variant_id"], truth.loc[gene, "variant_id"]
        r = np.corrcoef(dosages[lead], dosages[causal])[0, 1] if lead in dosages and causal in dosages else 0.0
        tagged.append(lead == causal or r * r >= 0.8)
    assert np.mean(tagged) >= 0.8, list(zip(found, tagged, strict=True))
