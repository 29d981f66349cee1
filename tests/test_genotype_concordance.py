"""genotype_concordance.py and magelib.identity: matrix counts against a per-pair loop, planted libraries (right
individual, swap, contamination, a parent on few sites), QTLtools mbv as the reference for the pileup-based counts,
the real NA12878 reads against the 3,202-individual 1000 Genomes panel, bad input, and MultiQC parsing the output."""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess

import genotype_concordance
import numpy as np
import pandas as pd
import pytest

from conftest import require_tool
from magelib.cli import InputError, run
from magelib.identity.concordance import (
    ALT_ONLY,
    BOTH,
    NOT_INFORMATIVE,
    REF_ONLY,
    allele_states,
    concordance_counts,
    mbv_counts,
    read_allele_counts,
    site_consistency,
)
from magelib.identity.sites import Panel, read_panel, write_panel

# ----------------------------------------------------------------------------------------------------------------
# Closed forms and an independent loop


def test_allele_states_thresholds():
    ref = np.array([10, 9, 1, 0, 3, 2, 19, 0])
    alt = np.array([0, 1, 9, 10, 2, 2, 1, 4])
    states = allele_states(ref, alt, min_depth=5, min_allele_reads=2, min_allele_fraction=0.1)
    # 9/1: one ALT read is below 2 reads; 3/2: both seen; 19/1: 1 read; 0/4: depth 4 < 5
    assert list(states) == [REF_ONLY, REF_ONLY, ALT_ONLY, ALT_ONLY, BOTH, NOT_INFORMATIVE, REF_ONLY, NOT_INFORMATIVE]
    assert allele_states(np.array([2]), np.array([2]), 4, 2, 0.0)[0] == BOTH


def test_counts_equal_a_loop_over_pairs():
    rng = np.random.default_rng(7)
    states = rng.choice([NOT_INFORMATIVE, REF_ONLY, BOTH, ALT_ONLY], size=(500, 6)).astype(np.int8)
    genotypes = rng.choice([-1, 0, 1, 2], size=(500, 9), p=[0.05, 0.5, 0.3, 0.15]).astype(np.int8)
    consistent, counted = concordance_counts(states, genotypes, chunk=37)
    for i in range(6):
        for j in range(9):
            cons, cnt = site_consistency(states[:, i], genotypes[:, j])
            assert consistent[i, j] == cons.sum() and counted[i, j] == cnt.sum()
    # By hand for one pair: a het is counted only where the library shows both alleles
    s = np.array([BOTH, REF_ONLY, ALT_ONLY, BOTH, REF_ONLY, NOT_INFORMATIVE], dtype=np.int8)
    g = np.array([1, 1, 0, 0, 0, 2], dtype=np.int8)
    c, n = concordance_counts(s[:, None], g[:, None])
    assert (c[0, 0], n[0, 0]) == (2, 4)  # consistent: het/both, hom-ref/ref; counted: those + alt-only/hom-ref + both/hom-ref


# ----------------------------------------------------------------------------------------------------------------
# Planted libraries


def simulate_panel(rng, n_individuals=60, n_sites=1200):
    freq = rng.uniform(0.05, 0.5, n_sites)
    haplotypes = (rng.random((n_sites, n_individuals, 2)) < freq[:, None, None]).astype(np.int8)
    # IND001 is IND000's child: one haplotype from the parent, one from the population
    haplotypes[:, 1, 0] = haplotypes[:, 0, rng.integers(0, 2)]
    genotypes = haplotypes.sum(axis=2).astype(np.int8)
    genotypes[rng.random(genotypes.shape) < 0.002] = -1
    bases = np.array(list("ACGT"))
    ref = rng.integers(0, 4, n_sites)
    alt = (ref + rng.integers(1, 4, n_sites)) % 4
    return Panel(
        chrom=np.array(["chr1"] * n_sites, dtype=object),
        pos=np.arange(1, n_sites + 1, dtype=np.int64) * 1000,
        ref=bases[ref].astype(object),
        alt=bases[alt].astype(object),
        individuals=[f"IND{i:03d}" for i in range(n_individuals)],
        genotypes=genotypes,
    )


def simulate_reads(rng, dosage, mean_depth=20.0, error=0.005, monoallelic=0.1):
    """REF and ALT read counts at each site: binomial sampling with allelic imbalance (Beta(10, 10) ALT fraction
    at hets), monoallelic expression at 10 % of hets, and sequencing errors."""
    depth = rng.poisson(mean_depth * rng.lognormal(0, 1, len(dosage)))
    fraction = np.where(dosage == 2, 1 - error, error)
    het = dosage == 1
    imbalance = rng.beta(10, 10, len(dosage))
    mono = rng.random(len(dosage)) < monoallelic
    fraction = np.where(het, np.where(mono, rng.choice([error, 1 - error], len(dosage)), imbalance), fraction)
    alt = rng.binomial(depth, fraction)
    return depth - alt, alt


def write_counts(path, library, panel, ref, alt):
    with gzip.open(path, "wt") as handle:
        handle.write(f"#library\t{library}\n")
        for i in np.flatnonzero(ref + alt > 0):
            handle.write(f"{panel.chrom[i]}\t{panel.pos[i]}\tN\t{panel.ref[i]},{panel.alt[i]},<*>\t0,{ref[i]},{alt[i]},0\n")


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    rng = np.random.default_rng(2024)
    tmp = tmp_path_factory.mktemp("planted")
    panel = simulate_panel(rng)
    write_panel(panel, tmp / "panel.parquet")
    g = {name: panel.genotypes[:, j] for j, name in enumerate(panel.individuals)}
    libraries = {}
    libraries["OK"] = ("IND010", *simulate_reads(rng, g["IND010"]))
    libraries["SWAP"] = ("IND020", *simulate_reads(rng, g["IND030"]))  # RNA of IND030, labelled IND020
    r1, a1 = simulate_reads(rng, g["IND040"], mean_depth=10)
    r2, a2 = simulate_reads(rng, g["IND041"], mean_depth=10)
    libraries["MIXED"] = ("IND040", r1 + r2, a1 + a2)  # a 50:50 mixture of two individuals
    ref, alt = simulate_reads(rng, g["IND001"])
    few = np.zeros(len(panel), dtype=bool)
    few[rng.choice(len(panel), 40, replace=False)] = True
    libraries["CHILD_FEW"] = ("IND001", np.where(few, ref, 0), np.where(few, alt, 0))  # the child, 40 covered sites
    libraries["CHILD"] = ("IND001", ref, alt)  # the child, every site
    for name, (_, ref, alt) in libraries.items():
        write_counts(tmp / f"{name}.allele_counts.tsv.gz", name, panel, ref, alt)
    pd.DataFrame({"sample": list(libraries), "individual": [v[0] for v in libraries.values()]}).to_csv(
        tmp / "samples.tsv", sep="\t", index=False
    )
    argv = ["--panel", str(tmp / "panel.parquet"), "--samples", str(tmp / "samples.tsv"), "--outdir", str(tmp / "out")]
    argv += ["--counts", *[str(tmp / f"{name}.allele_counts.tsv.gz") for name in libraries]]
    assert run(genotype_concordance.main, argv) == 0
    results = pd.read_csv(tmp / "out" / "genotype_concordance.tsv", sep="\t", index_col="sample", keep_default_na=False)
    return tmp, panel, results


def test_true_individual_is_ok(planted):
    _, _, results = planted
    row = results.loc["OK"]
    assert row["verdict"] == "ok" and row["best_individual"] == "IND010"
    assert row["best_concordance"] > 0.97 and row["second_concordance"] < 0.9


def test_swap_names_the_true_individual(planted):
    _, _, results = planted
    row = results.loc["SWAP"]
    assert row["verdict"] == "swap" and row["best_individual"] == "IND030"
    assert row["labelled_concordance"] < 0.9 and "RNA matches IND030" in row["reason"]


def test_mixture_matches_nobody(planted):
    _, _, results = planted
    row = results.loc["MIXED"]
    assert row["verdict"] == "unknown" and row["best_concordance"] < 0.9


def test_parent_and_child(planted):
    """With every site the child is told apart from her parent; on 40 covered sites the output says it cannot,
    and gives the site count."""
    _, _, results = planted
    assert results.at["CHILD", "verdict"] == "ok" and results.at["CHILD", "second_individual"] == "IND000"
    few = results.loc["CHILD_FEW"]
    assert few["verdict"] == "ambiguous" and few["best_individual"] == "IND001"
    assert f"over {few['labelled_sites']} sites" in few["reason"] or f"only {few['labelled_sites']}" in few["reason"]


def test_outputs_and_status(planted):
    tmp, panel, results = planted
    status = pd.read_csv(tmp / "out" / "genotype_concordance.status.tsv", sep="\t", index_col="sample")
    assert status["status"].to_dict() == {
        "OK": "kept",
        "SWAP": "flagged",
        "MIXED": "flagged",
        "CHILD_FEW": "flagged",
        "CHILD": "kept",
    }
    matrix = pd.read_csv(tmp / "out" / "genotype_concordance_matrix.tsv", sep="\t", index_col="sample")
    assert {"IND010", "IND020", "IND030", "IND001", "IND000"} <= set(matrix.columns) and len(matrix.columns) < len(
        panel.individuals
    )
    assert matrix.at["SWAP", "IND030"] == pytest.approx(results.at["SWAP", "best_concordance"], abs=1e-9)


def test_rerun_is_byte_identical(planted, tmp_path):
    tmp, _, _ = planted
    argv = ["--panel", str(tmp / "panel.parquet"), "--samples", str(tmp / "samples.tsv"), "--outdir", str(tmp_path)]
    argv += ["--counts", *sorted(str(p) for p in tmp.glob("*.allele_counts.tsv.gz"))]
    assert run(genotype_concordance.main, argv) == 0
    for name in ("genotype_concordance.tsv", "genotype_concordance_matrix.tsv", "genotype_concordance_heatmap_mqc.json"):
        assert (tmp_path / name).read_bytes() == (tmp / "out" / name).read_bytes()


def test_multiqc_reads_the_content(planted, tmp_path):
    require_tool("multiqc")
    tmp, _, _ = planted
    for name in ("genotype_concordance_table_mqc.json", "genotype_concordance_heatmap_mqc.json"):
        shutil.copy(tmp / "out" / name, tmp_path / name)
    proc = subprocess.run(
        ["multiqc", "-f", "--no-data-dir", "-o", str(tmp_path / "report"), str(tmp_path)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "report" / "multiqc_report.html").read_text()
    assert "mage_genotype_concordance_heatmap_plot" in html and "mage_genotype_concordance_table" in html


# ----------------------------------------------------------------------------------------------------------------
# Bad input


def bad_run(planted, tmp_path, capsys, edit):
    tmp, panel, _ = planted
    counts = tmp_path / "X.allele_counts.tsv.gz"
    samples = tmp_path / "samples.tsv"
    pd.DataFrame({"sample": ["X"], "individual": ["IND010"]}).to_csv(samples, sep="\t", index=False)
    lines = ["#library\tX", "chr1\t1000\tN\tA,C,<*>\t0,5,5,0", "chr1\t2000\tN\tA,<*>\t0,9,0"]
    lines = edit(lines, samples)
    with gzip.open(counts, "wt") as handle:
        handle.write("\n".join(lines) + "\n")
    argv = [
        "--panel",
        str(tmp / "panel.parquet"),
        "--samples",
        str(samples),
        "--outdir",
        str(tmp_path / "out"),
        "--counts",
        str(counts),
    ]
    assert run(genotype_concordance.main, argv) == 1
    assert not (tmp_path / "out" / "genotype_concordance.tsv").exists()
    return capsys.readouterr().err


def test_ref_mismatch_names_the_site(planted, tmp_path, capsys):
    _, panel, _ = planted
    wrong = next(b for b in "ACGT" if b != panel.ref[0])
    err = bad_run(planted, tmp_path, capsys, lambda lines, s: [lines[0], f"chr1\t1000\t{wrong}\tT,<*>\t3,4,0"])
    assert f"REF '{wrong}' at chr1:1000 differs from the VCF's '{panel.ref[0]}'" in err


def test_library_not_in_sample_table(planted, tmp_path, capsys):
    err = bad_run(planted, tmp_path, capsys, lambda lines, s: ["#library\tY", *lines[1:]])
    assert "library 'Y' is not in the sample table" in err


def test_malformed_ad(planted, tmp_path, capsys):
    err = bad_run(planted, tmp_path, capsys, lambda lines, s: [lines[0], "chr1\t1000\tN\tA,C,<*>\t0,5"])
    assert "AD column does not have one count per allele" in err


def test_contig_mismatch(planted, tmp_path, capsys):
    err = bad_run(planted, tmp_path, capsys, lambda lines, s: [lines[0], "1\t1000\tN\tA,<*>\t0,50,0"])
    assert "same contig names" in err


def test_individual_missing_from_vcf(planted, tmp_path, capsys):
    def edit(lines, samples):
        pd.DataFrame({"sample": ["X"], "individual": ["NOT_IN_VCF"]}).to_csv(samples, sep="\t", index=False)
        return lines

    err = bad_run(planted, tmp_path, capsys, edit)
    assert "individual 'NOT_IN_VCF' is not in the identity panel" in err


def test_read_allele_counts_header(tmp_path, planted):
    _, panel, _ = planted
    path = tmp_path / "x.tsv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("chr1\t1000\tN\tA,<*>\t0,50,0\n")
    with pytest.raises(InputError, match="line 1: expected '#library<TAB><library id>'"):
        read_allele_counts(path, panel)


# ----------------------------------------------------------------------------------------------------------------
# Real tools: STAR, samtools and bcftools through the modules; QTLtools mbv as the reference


def star_args(repo, intron_max: int | None = None) -> str:
    """STAR_ALIGN's ext.args from conf/modules/identity.config (MAGE's options). On a genome of a few kb, STAR's
    search up to 1 Mb introns takes minutes for nothing, so tiny test genomes cap it."""
    config = (repo / "conf" / "modules" / "identity.config").read_text()
    block = config[config.index("withName: 'STAR_ALIGN'") :]
    block = block[: block.index("].join(' ')")]
    args = " ".join(re.findall(r"'(--[^']*)'", block))
    if intron_max:
        args = re.sub(r"--alignIntronMax \d+", f"--alignIntronMax {intron_max}", args)
        args = re.sub(r"--alignMatesGapMax \d+", f"--alignMatesGapMax {intron_max}", args)
    return args


def align(repo, workdir, fasta, gtf, library, fastqs, star_extra="", intron_max=None, mpileup_args=None, sites=None):
    """STAR_GENOMEGENERATE, STAR_ALIGN, SAMTOOLS_INDEX (and BCFTOOLS_MPILEUP at `sites`) rendered and run."""
    from nftools.render import render_process

    for path in (fasta, gtf, *fastqs):
        (workdir / path.name).symlink_to(path)
    gg = render_process(
        "modules/local/star/genomegenerate/main.nf", inputs={"fasta": fasta.name, "gtf": gtf.name}, ext={"args": star_extra}
    )
    gg.run(workdir)
    meta = {"id": library, "single_end": False}
    star = render_process(
        "modules/local/star/align/main.nf",
        inputs={"meta": meta, "reads": [f.name for f in fastqs], "wasp_vcf": [], "index": "star"},
        ext={"args": star_args(repo, intron_max)},
    )
    star.run(workdir)
    star.check_outputs(workdir)
    index = render_process("modules/local/samtools/index/main.nf", inputs={"meta": meta, "bam": f"{library}.bam"})
    index.run(workdir)
    if sites is not None:
        shutil.copy(sites, workdir / "identity_sites.tsv")
        pileup = render_process(
            "modules/local/bcftools/mpileup/main.nf",
            inputs={"meta": meta, "bam": f"{library}.bam", "bai": f"{library}.bam.bai", "sites": "identity_sites.tsv"},
            ext={"args": mpileup_args},
        )
        pileup.run(workdir)
        pileup.check_outputs(workdir)
    return workdir / f"{library}.bam"


def test_counts_match_qtltools_mbv(repo, test_world, tmp_path):
    """QTLtools mbv (Fort et al. 2017) counts, per VCF individual, the het sites showing both alleles and the hom
    sites covered: they must equal ours from the BCFTOOLS_MPILEUP module run with mbv's pileup rules (every read
    of an overlapping pair counted: -x; no BAQ; MAPQ >= 10; base quality >= 13). Autosomes only: mbv reads a
    haploid male chrX call as heterozygous."""
    require_tool("STAR", "samtools", "bcftools", "QTLtools")
    import identity_sites

    autosomes = tmp_path / "autosomes.gtf"
    autosomes.write_text(
        "".join(line for line in (test_world / "reference" / "genes.gtf").open() if line.startswith(("chr1\t", "chr2\t")))
    )
    vcf = test_world / "genotypes" / "genotypes.vcf.gz"
    argv = [
        "--vcf",
        str(vcf),
        "--gtf",
        str(autosomes),
        "--sites",
        str(tmp_path / "sites.tsv"),
        "--panel",
        str(tmp_path / "panel.parquet"),
    ]
    assert run(identity_sites.main, argv + ["--min-distance", "0"]) == 0
    work = tmp_path / "work"
    work.mkdir()
    library = "GM90306"
    bam = align(
        repo,
        work,
        test_world / "reference" / "genome.fa",
        test_world / "reference" / "genes.gtf",
        library,
        [test_world / "fastq" / f"{library}_R{m}.fastq.gz" for m in (1, 2)],
        mpileup_args="--ignore-overlaps --no-BAQ --min-MQ 10 --min-BQ 13 --max-depth 8000 --skip-indels",
        sites=tmp_path / "sites.tsv",
    )
    subprocess.run(
        ["bcftools", "view", "-R", str(tmp_path / "sites.tsv"), "-Oz", "-o", str(tmp_path / "sites.vcf.gz"), str(vcf)], check=True
    )
    subprocess.run(["tabix", "-p", "vcf", str(tmp_path / "sites.vcf.gz")], check=True)
    mbv_args = ["--filter-mapping-quality", "10", "--filter-base-quality", "13", "--filter-minimal-coverage", "5"]
    out = tmp_path / "mbv.txt"
    subprocess.run(
        ["QTLtools", "mbv", "--bam", str(bam), "--vcf", str(tmp_path / "sites.vcf.gz"), *mbv_args, "--out", str(out)],
        check=True,
        capture_output=True,
    )
    mbv = pd.read_csv(out, sep=" ", index_col="SampleID")
    panel = read_panel(tmp_path / "panel.parquet")
    _, ref, alt = read_allele_counts(work / f"{library}.allele_counts.tsv.gz", panel)
    ours = mbv_counts(allele_states(ref, alt, 5, 1, 0.0), panel.genotypes).set_index(pd.Index(panel.individuals))
    columns = ["n_het_covered", "n_het_consistent", "n_hom_covered", "n_hom_consistent"]
    assert ours[columns].sum().min() > 50  # the comparison has substance
    pd.testing.assert_frame_equal(ours[columns], mbv.loc[panel.individuals, columns], check_dtype=False, check_names=False)


@pytest.mark.shared
def test_na12878_against_the_1000_genomes_panel(repo, shared_data, tmp_path):
    """The real GM12878 reads (chr22, 40 kb) through STAR with MAGE's options, against all 3,202 individuals of
    the 1000 Genomes high-coverage panel at common exonic SNPs. NA12878 must be the best match; her parents
    (NA12891, NA12892) and many others cannot be excluded on so few sites, and the output must say so."""
    require_tool("STAR", "samtools", "bcftools")
    import identity_sites

    data = shared_data / "nfcore-test-datasets_GM12878-chr22region"
    panel_vcf = data / "genotypes" / "1000GP.chr22.localcoords.vcf.gz"
    argv = ["--vcf", str(panel_vcf), "--gtf", str(data / "reference" / "genome.gtf")]
    argv += ["--sites", str(tmp_path / "sites.tsv"), "--panel", str(tmp_path / "panel.parquet")]
    assert run(identity_sites.main, argv) == 0
    work = tmp_path / "work"
    work.mkdir()
    config = (repo / "conf" / "modules" / "identity.config").read_text()
    mpileup_args = re.search(r"withName: 'BCFTOOLS_MPILEUP'.*?ext.args\s*=\s*'([^']*)'", config, re.S).group(1)
    align(
        repo,
        work,
        data / "reference" / "genome.fasta",
        data / "reference" / "genome.gtf",
        "GM12878",
        [data / "fastq" / f"test_rnaseq_{m}.fastq.gz" for m in (1, 2)],
        intron_max=5000,
        mpileup_args=mpileup_args,
        sites=tmp_path / "sites.tsv",
    )
    log = (work / "GM12878.Log.final.out").read_text()
    assert float(re.search(r"Uniquely mapped reads % \|\s+([\d.]+)%", log).group(1)) > 60

    pd.DataFrame({"sample": ["GM12878"], "individual": ["NA12878"]}).to_csv(tmp_path / "samples.tsv", sep="\t", index=False)
    argv = [
        "--panel",
        str(tmp_path / "panel.parquet"),
        "--samples",
        str(tmp_path / "samples.tsv"),
        "--outdir",
        str(tmp_path / "out"),
    ]
    assert run(genotype_concordance.main, argv + ["--counts", str(work / "GM12878.allele_counts.tsv.gz")]) == 0
    row = pd.read_csv(tmp_path / "out" / "genotype_concordance.tsv", sep="\t").iloc[0]
    assert row["best_individual"] == "NA12878"
    assert row["labelled_concordance"] == row["best_concordance"]
    matrix = pd.read_csv(tmp_path / "out" / "genotype_concordance_matrix.tsv", sep="\t", index_col="sample")
    panel = read_panel(tmp_path / "panel.parquet")
    assert len(panel.individuals) == 3202
    # On so few sites many individuals, her parents among them, explain the reads as well: the output says so
    assert row["verdict"] == "ambiguous" and row["n_tied_best"] > 1
    assert f"only {min(row['n_sites'], row['labelled_sites'])} informative sites" in row["reason"]
    assert f"{row['n_tied_best']} individuals share the best concordance" in row["reason"]
    # The tie count, recomputed one individual at a time from the pileup (here NA12892 ties; NA12891 misses one site)
    _, ref, alt = read_allele_counts(work / "GM12878.allele_counts.tsv.gz", panel)
    states = allele_states(ref, alt, 5, 2, 0.05)
    recomputed = pd.Series({name: concordance_with(states, panel, name) for name in panel.individuals})
    assert row["n_tied_best"] == (recomputed == row["best_concordance"]).sum()
    assert "NA12878" in matrix.columns


def concordance_with(states, panel, individual):
    """Concordance of one library with `individual`, recomputed site by site from its allele states."""
    cons, counted = site_consistency(states, panel.genotypes[:, panel.individuals.index(individual)])
    return cons.sum() / counted.sum() if counted.sum() else float("nan")
