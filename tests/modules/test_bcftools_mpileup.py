"""BCFTOOLS_MPILEUP: allele counts at the identity sites from a hand-written BAM whose answer is known: mapping
and base-quality filters, duplicates, an overlapping read pair counted once (or twice with --ignore-overlaps, as
QTLtools mbv counts it), a third base, uncovered sites, and the #library header."""

from __future__ import annotations

import gzip
import re
import subprocess

import numpy as np
import pytest

from conftest import require_tool
from magelib.identity.concordance import read_allele_counts
from magelib.identity.sites import Panel
from nftools.render import render_process

META = {"id": "lib1", "single_end": False}
SITE = 100  # chr1:100, REF A, ALT G


def read(name, flag, pos, base, mapq=255, base_quality="I", mate_pos=0, tlen=0):
    """A 10 bp read over chr1:pos..pos+9 carrying `base` at SITE."""
    seq = ["A"] * 10
    qual = ["I"] * 10
    seq[SITE - pos], qual[SITE - pos] = base, base_quality
    mate = "=" if flag & 1 else "*"
    return "\t".join(map(str, [name, flag, "chr1", pos, mapq, "10M", mate, mate_pos, tlen, "".join(seq), "".join(qual)]))


@pytest.fixture
def workdir(repo, tmp_path):
    require_tool("samtools", "bcftools")
    lines = ["@HD\tVN:1.6\tSO:unsorted", "@SQ\tSN:chr1\tLN:1000", "@SQ\tSN:chr2\tLN:500"]
    lines += [read("a1", 0, 95, "A"), read("a2", 0, 96, "A")]  # REF twice
    lines += [read("g1", 0, 95, "G"), read("g2", 0, 97, "G")]  # ALT twice
    lines += [read("lowmq", 0, 95, "G", mapq=3)]  # a STAR multimapper: below --min-MQ 10
    lines += [read("lowbq", 0, 95, "G", base_quality="#")]  # base quality 2: below --min-BQ 13
    lines += [read("dup", 1024, 95, "G")]  # a duplicate
    lines += [read("t1", 0, 94, "T")]  # a third base
    lines += [read("p1", 99, 92, "G", mate_pos=95, tlen=13), read("p1", 147, 95, "G", mate_pos=92, tlen=-13)]  # overlapping mates
    (tmp_path / "in.sam").write_text("\n".join(lines) + "\n")
    subprocess.run(
        ["samtools", "sort", "-o", str(tmp_path / "lib1.bam"), str(tmp_path / "in.sam")], check=True, capture_output=True
    )
    subprocess.run(["samtools", "index", str(tmp_path / "lib1.bam")], check=True)
    (tmp_path / "identity_sites.tsv").write_text(f"chr1\t{SITE}\nchr1\t300\nchr2\t50\n")
    return tmp_path


def config_args(repo) -> str:
    config = (repo / "conf" / "modules" / "identity.config").read_text()
    return re.search(r"withName: 'BCFTOOLS_MPILEUP'.*?ext.args\s*=\s*'([^']*)'", config, re.S).group(1)


def pileup(workdir, args):
    inputs = {"meta": META, "bam": "lib1.bam", "bai": "lib1.bam.bai", "sites": "identity_sites.tsv"}
    r = render_process("modules/local/bcftools/mpileup/main.nf", inputs=inputs, ext={"args": args})
    r.run(workdir)
    r.check_outputs(workdir)
    panel = Panel(
        chrom=np.array(["chr1", "chr1", "chr2"], dtype=object),
        pos=np.array([SITE, 300, 50]),
        ref=np.array(["A", "C", "G"], dtype=object),
        alt=np.array(["G", "T", "A"], dtype=object),
        individuals=["I1"],
        genotypes=np.zeros((3, 1), dtype=np.int8),
    )
    return read_allele_counts(workdir / "lib1.allele_counts.tsv.gz", panel)


def test_counts_with_the_config_args(repo, workdir):
    library, ref, alt = pileup(workdir, config_args(repo))
    assert library == "lib1"
    # REF: a1, a2. ALT: g1, g2 and the overlapping pair once; not lowmq, lowbq, dup; t1 is neither
    assert list(ref) == [2, 0, 0] and list(alt) == [3, 0, 0]
    with gzip.open(workdir / "lib1.allele_counts.tsv.gz", "rt") as handle:
        lines = handle.read().splitlines()
    assert lines[0] == "#library\tlib1"
    site = next(line.split("\t") for line in lines[1:] if line.startswith(f"chr1\t{SITE}\t"))
    counts = dict(zip(site[2:3] + site[3].split(","), map(int, site[4].split(",")), strict=True))
    assert counts["T"] == 1 and counts["N"] == 0  # no reference: REF is N, every base seen is an ALT


def test_ignore_overlaps_counts_both_mates(workdir):
    _, ref, alt = pileup(workdir, "--ignore-overlaps --no-BAQ --min-MQ 10 --min-BQ 13 --skip-indels")
    assert list(ref) == [2, 0, 0] and list(alt) == [4, 0, 0]


def test_stub(tmp_path):
    inputs = {"meta": META, "bam": "lib1.bam", "bai": "lib1.bam.bai", "sites": "identity_sites.tsv"}
    r = render_process("modules/local/bcftools/mpileup/main.nf", inputs=inputs, stub=True)
    r.run(tmp_path)
    r.check_outputs(tmp_path)
