"""STAR_GENOMEGENERATE: real STAR on the test world; --genomeSAindexNbases follows STAR's small-genome rule
min(14, floor(log2(genome length) / 2 - 1)) unless ext.args sets it."""

from __future__ import annotations

import math
import re

from conftest import require_tool
from nftools.render import render_process

MODULE = "modules/local/star/genomegenerate/main.nf"


def link_reference(test_world, workdir):
    for name in ("genome.fa", "genes.gtf"):
        (workdir / name).symlink_to(test_world / "reference" / name)


def sa_index_used(workdir) -> int:
    return int(re.search(r"^genomeSAindexNbases\s+(\d+)", (workdir / "star" / "Log.out").read_text(), re.M).group(1))


def test_builds_index_with_computed_sa_index(test_world, tmp_path):
    require_tool("STAR")
    link_reference(test_world, tmp_path)
    r = render_process(MODULE, inputs={"fasta": "genome.fa", "gtf": "genes.gtf"}, ext={"args": "--sjdbOverhang 49"})
    r.run(tmp_path)
    r.check_outputs(tmp_path)
    length = sum(int(line.split("\t")[1]) for line in (test_world / "reference" / "genome.fa.fai").read_text().splitlines())
    assert sa_index_used(tmp_path) == min(14, math.floor(math.log2(length) / 2 - 1))
    assert (tmp_path / "star" / "chrName.txt").read_text().split() == ["chr1", "chr2", "chrX", "chrY"]
    # The GTF's junctions are in the index (sjdbList.fromGTF.out.tab: one line per annotated intron)
    assert len((tmp_path / "star" / "sjdbList.fromGTF.out.tab").read_text().splitlines()) > 100
    assert "--limitGenomeGenerateRAM 4194967296" in r.script  # 4 GB - 100 MB, from task.memory


def test_ext_args_sa_index_wins(test_world, tmp_path):
    require_tool("STAR")
    link_reference(test_world, tmp_path)
    r = render_process(MODULE, inputs={"fasta": "genome.fa", "gtf": "genes.gtf"}, ext={"args": "--genomeSAindexNbases 6"})
    assert r.script.count("--genomeSAindexNbases") == 1
    r.run(tmp_path)
    assert sa_index_used(tmp_path) == 6


def test_stub(tmp_path):
    r = render_process(MODULE, inputs={"fasta": "genome.fa", "gtf": "genes.gtf"}, stub=True)
    r.run(tmp_path)
    r.check_outputs(tmp_path)
