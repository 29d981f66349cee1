"""GENOTYPES_PREPARE: the rendered script builds the store from the test world's VCF (chrX with haploid males);
the declared output is there and readable, chrX is coded as MAGE did; and the stub."""

from __future__ import annotations

import shutil

import numpy as np

from magelib.io.genotype_store import GenotypeStore
from nftools.render import render_process

MODULE = "modules/local/genotypes/prepare/main.nf"


def test_builds_the_store(test_world, tmp_path):
    for name in ("genotypes.vcf.gz", "genotypes.vcf.gz.tbi", "individuals.tsv"):
        shutil.copy(test_world / "genotypes" / name, tmp_path / name)
    r = render_process(
        MODULE,
        inputs={
            "meta": {"id": "world"},
            "vcfs": ["genotypes.vcf.gz"],
            "indices": ["genotypes.vcf.gz.tbi"],
            "samples": "individuals.tsv",
            "keep": [],
        },
        ext={"args": "--maf 0.01 --chrx diploid --par-regions chrX:1-21530"},
        cpus=1,
    )
    r.run(tmp_path)
    r.check_outputs(tmp_path)
    store = GenotypeStore(tmp_path / "world.genotypes")
    assert store.chromosomes == ["chr1", "chr2", "chrX"] and len(store.samples) == 80
    chrx = np.load(tmp_path / "world.genotypes" / "chrX.dosage.npy")
    outside = store.variants("chrX")["pos"].to_numpy() > 21530
    males = np.array([line.split("\t")[3] == "male" for line in (tmp_path / "individuals.tsv").read_text().splitlines()[1:]])
    assert set(np.unique(chrx[np.ix_(outside, males)])) <= {-1, 0, 2}
    assert "magelib: 0." in (tmp_path / "versions.yml").read_text()


def test_stub(tmp_path):
    inputs = {"meta": {"id": "world"}, "vcfs": ["a.vcf.gz"], "indices": ["a.vcf.gz.tbi"], "samples": "s.tsv", "keep": []}
    r = render_process(MODULE, inputs=inputs, stub=True)
    r.run(tmp_path)
    r.check_outputs(tmp_path)
