"""SAMTOOLS_INDEX, SAMTOOLS_FLAGSTAT, SAMTOOLS_IDXSTATS on a hand-written BAM whose counts are known: reads per
contig, unmapped reads, duplicates and pairs."""

from __future__ import annotations

import subprocess

import pytest

from conftest import require_tool
from nftools.render import render_process

META = {"id": "lib1", "single_end": False}


def sam_line(name, flag, chrom, pos, mapq=255, seq="ACGTACGTAC", mate="*", mate_pos=0, tlen=0):
    cigar = "*" if flag & 4 else f"{len(seq)}M"
    return "\t".join(
        map(str, [name, flag, chrom, pos, mapq if not flag & 4 else 0, cigar, mate, mate_pos, tlen, seq, "I" * len(seq)])
    )


@pytest.fixture
def bam(tmp_path):
    require_tool("samtools")
    lines = ["@HD\tVN:1.6\tSO:unsorted", "@SQ\tSN:chr1\tLN:1000", "@SQ\tSN:chr2\tLN:500", "@RG\tID:lib1\tSM:lib1"]
    lines += [sam_line(f"r{i}", 0, "chr1", 10 + 20 * i) for i in range(3)]  # 3 on chr1
    lines += [sam_line("d1", 1024, "chr1", 200)]  # a duplicate on chr1
    lines += [
        sam_line("p1", 99, "chr2", 50, mate="=", mate_pos=60, tlen=20),
        sam_line("p1", 147, "chr2", 60, mate="=", mate_pos=50, tlen=-20),
    ]
    lines += [sam_line("u1", 4, "*", 0)]  # unmapped
    (tmp_path / "in.sam").write_text("\n".join(lines) + "\n")
    subprocess.run(
        ["samtools", "sort", "-o", str(tmp_path / "lib1.bam"), str(tmp_path / "in.sam")], check=True, capture_output=True
    )
    return tmp_path / "lib1.bam"


def test_index_flagstat_idxstats(bam, tmp_path):
    index = render_process("modules/local/samtools/index/main.nf", inputs={"meta": META, "bam": "lib1.bam"})
    index.run(tmp_path)
    index.check_outputs(tmp_path)
    assert (tmp_path / "lib1.bam.bai").stat().st_size > 0
    region = subprocess.run(["samtools", "view", "-c", str(bam), "chr2"], capture_output=True, text=True, check=True)
    assert region.stdout.strip() == "2"  # the index answers region queries

    inputs = {"meta": META, "bam": "lib1.bam", "bai": "lib1.bam.bai"}
    idxstats = render_process("modules/local/samtools/idxstats/main.nf", inputs=inputs)
    idxstats.run(tmp_path)
    idxstats.check_outputs(tmp_path)
    rows = [line.split("\t") for line in (tmp_path / "lib1.idxstats").read_text().splitlines()]
    assert rows == [["chr1", "1000", "4", "0"], ["chr2", "500", "2", "0"], ["*", "0", "0", "1"]]

    flagstat = render_process("modules/local/samtools/flagstat/main.nf", inputs=inputs)
    flagstat.run(tmp_path)
    flagstat.check_outputs(tmp_path)
    text = (tmp_path / "lib1.flagstat").read_text()
    assert text.startswith("7 + 0 in total")
    assert "1 + 0 duplicates" in text and "6 + 0 mapped" in text and "2 + 0 properly paired" in text


@pytest.mark.parametrize("module", ["index", "flagstat", "idxstats"])
def test_stub(tmp_path, module):
    inputs = {"meta": META, "bam": "lib1.bam"} if module == "index" else {"meta": META, "bam": "lib1.bam", "bai": "lib1.bam.bai"}
    r = render_process(f"modules/local/samtools/{module}/main.nf", inputs=inputs, stub=True)
    r.run(tmp_path)
    r.check_outputs(tmp_path)
