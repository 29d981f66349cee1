"""STAR_ALIGN (and BCFTOOLS_HETSNPS for WASP): real STAR two-pass with MAGE's options from the config on a test
world library. Checked independently: the BAM's sort order and read group, junctions against the GTF's introns,
the het-SNP VCF against the genotypes read with cyvcf2, and the WASP filter (MAGE §5 #14) against the tags."""

from __future__ import annotations

import re
import subprocess

import pandas as pd
import pytest
from cyvcf2 import VCF

from conftest import require_tool
from magelib.io.gtf import read_features
from nftools.render import render_process

MODULE = "modules/local/star/align/main.nf"
LIBRARY, INDIVIDUAL = "GM90306", "NA90306"  # a male: his het-SNP VCF has no chrX


def config_star_args(repo, intron_max: int) -> str:
    """STAR_ALIGN's ext.args from conf/modules/identity.config, intron and mate-gap limits capped for a 700 kb genome."""
    config = (repo / "conf" / "modules" / "identity.config").read_text()
    block = config[config.index("withName: 'STAR_ALIGN'") :]
    args = " ".join(re.findall(r"'(--[^']*)'", block[: block.index("].join(' ')")]))
    args = re.sub(r"--alignIntronMax \d+", f"--alignIntronMax {intron_max}", args)
    return re.sub(r"--alignMatesGapMax \d+", f"--alignMatesGapMax {intron_max}", args)


@pytest.fixture(scope="module")
def index(test_world, tmp_path_factory):
    require_tool("STAR", "samtools")
    work = tmp_path_factory.mktemp("star_index")
    for name in ("genome.fa", "genes.gtf"):
        (work / name).symlink_to(test_world / "reference" / name)
    render_process("modules/local/star/genomegenerate/main.nf", inputs={"fasta": "genome.fa", "gtf": "genes.gtf"}).run(work)
    return work / "star"


def align(repo, test_world, index, workdir, wasp_vcf=None, prefix=LIBRARY, **ext):
    fastqs = [f"{LIBRARY}_R{m}.fastq.gz" for m in (1, 2)]
    for name in fastqs:
        (workdir / name).symlink_to(test_world / "fastq" / name)
    (workdir / "star").symlink_to(index)
    r = render_process(
        MODULE,
        inputs={"meta": {"id": LIBRARY, "single_end": False}, "reads": fastqs, "wasp_vcf": wasp_vcf or [], "index": "star"},
        ext={"args": config_star_args(repo, 50000), "prefix": prefix, **ext},
    )
    r.run(workdir)
    r.check_outputs(workdir)
    return r


def samtools(*args) -> str:
    return subprocess.run(["samtools", *args], capture_output=True, text=True, check=True).stdout


def gtf_introns(gtf) -> set[tuple[str, int, int]]:
    exons = read_features(gtf, "exon").sort_values(["transcript_id", "start"])
    introns = set()
    for _, group in exons.groupby("transcript_id"):
        starts, ends = group["start"].to_numpy(), group["end"].to_numpy()
        chrom = group["chrom"].iat[0]
        introns |= {(chrom, int(e) + 1, int(s) - 1) for e, s in zip(ends[:-1], starts[1:], strict=True)}
    return introns


def test_alignment(repo, test_world, index, tmp_path):
    r = align(repo, test_world, index, tmp_path)
    assert "--readFilesCommand zcat" in r.script and "--outSAMtype BAM SortedByCoordinate" in r.script
    bam = tmp_path / f"{LIBRARY}.bam"
    header = samtools("view", "-H", str(bam))
    assert "SO:coordinate" in header
    assert re.search(rf"^@RG\tID:{LIBRARY}\tSM:{LIBRARY}$", header, re.M)
    log = (tmp_path / f"{LIBRARY}.Log.final.out").read_text()
    assert float(re.search(r"Uniquely mapped reads % \|\s+([\d.]+)%", log).group(1)) > 95
    # Junctions: every junction STAR calls annotated is a GTF intron, and the well-supported ones all are
    sj = pd.read_csv(tmp_path / f"{LIBRARY}.SJ.out.tab", sep="\t", header=None)
    introns = gtf_introns(test_world / "reference" / "genes.gtf")
    called = {(c, s, e) for c, s, e in zip(sj[0], sj[1], sj[2], strict=True)}
    # (two-pass mode marks first-pass junctions "annotated" too, so a multi-mapper's junction is judged on unique reads)
    annotated = zip(sj[0], sj[1], sj[2], sj[5], sj[6], strict=True)
    assert {(c, s, e) for c, s, e, a, u in annotated if a == 1 and u >= 1} <= introns
    assert {(c, s, e) for c, s, e, u in zip(sj[0], sj[1], sj[2], sj[6], strict=True) if u >= 5} <= introns
    assert len(called & introns) > 50
    assert (tmp_path / f"{LIBRARY}.ReadsPerGene.out.tab").exists()  # --quantMode GeneCounts from the config


@pytest.fixture(scope="module")
def het_snps(test_world, tmp_path_factory):
    require_tool("bcftools")
    work = tmp_path_factory.mktemp("hetsnps")
    for name in ("genotypes.vcf.gz", "genotypes.vcf.gz.tbi"):
        (work / name).symlink_to(test_world / "genotypes" / name)
    r = render_process(
        "modules/local/bcftools/hetsnps/main.nf",
        inputs={"meta": {"id": INDIVIDUAL, "sex": "male"}, "vcf": "genotypes.vcf.gz", "index": "genotypes.vcf.gz.tbi"},
        ext={"args": "--targets ^chrX,X"},  # the config's closure for a male
    )
    r.run(work)
    r.check_outputs(work)
    return work / f"{INDIVIDUAL}.het_snps.vcf"


def test_het_snps_match_the_genotypes(test_world, het_snps):
    records = [line.split("\t") for line in het_snps.read_text().splitlines() if not line.startswith("#")]
    ours = {(f[0], int(f[1])) for f in records}
    assert all(f[9] in ("0|1", "1|0") for f in records) and len(records[0]) == 10  # one sample: what STAR reads
    vcf = VCF(str(test_world / "genotypes" / "genotypes.vcf.gz"), gts012=True)
    column = vcf.samples.index(INDIVIDUAL)
    expected = {(v.CHROM, v.POS) for v in vcf if v.gt_types[column] == 1 and v.is_snp and v.CHROM not in ("chrX", "X")}
    assert ours == expected and len(ours) > 500


def test_wasp_filter_removes_failing_reads(repo, test_world, index, het_snps, tmp_path):
    """WASP tags: vW:i:1 passes, 2-7 fail. MAGE tagged and never filtered; the module drops failing reads."""
    (tmp_path / "tagged").mkdir()
    (tmp_path / "filtered").mkdir()
    for sub in ("tagged", "filtered"):
        (tmp_path / sub / het_snps.name).symlink_to(het_snps)
    tagged = align(repo, test_world, index, tmp_path / "tagged", wasp_vcf=het_snps.name, wasp_filter=False)
    assert "--waspOutputMode SAMtag --varVCFfile" in tagged.script and "--expr" not in tagged.script
    align(repo, test_world, index, tmp_path / "filtered", wasp_vcf=het_snps.name)
    tags = re.findall(r"\tvW:i:(\d)", samtools("view", str(tmp_path / "tagged" / f"{LIBRARY}.bam")))
    failing = sum(t != "1" for t in tags)
    assert tags.count("1") > 100 and failing > 0
    filtered = samtools("view", str(tmp_path / "filtered" / f"{LIBRARY}.bam"))
    assert not re.search(r"\tvW:i:[2-7]", filtered)
    total = int(samtools("view", "-c", str(tmp_path / "tagged" / f"{LIBRARY}.bam")))
    assert len(filtered.splitlines()) == total - failing


def test_stubs(tmp_path):
    meta = {"id": LIBRARY, "single_end": False}
    r = render_process(MODULE, inputs={"meta": meta, "reads": ["a.fq.gz", "b.fq.gz"], "wasp_vcf": [], "index": "star"}, stub=True)
    r.run(tmp_path)
    r.check_outputs(tmp_path)
    h = render_process(
        "modules/local/bcftools/hetsnps/main.nf",
        inputs={"meta": {"id": "X"}, "vcf": "g.vcf.gz", "index": "g.vcf.gz.tbi"},
        stub=True,
    )
    h.run(tmp_path)
    h.check_outputs(tmp_path)
