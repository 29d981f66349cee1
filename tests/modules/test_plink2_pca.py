"""PLINK2_VCF2PGEN -> PLINK2_INDEPPAIRWISE -> PLINK2_PCA: the rendered scripts with plink2 on the test world VCF,
with the arguments of conf/modules/phenotypes.config. Genotype PC1-2 must separate the simulated populations."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from conftest import require_tool
from nftools.render import render_process

VCF2PGEN = "modules/local/plink2/vcf2pgen/main.nf"
PRUNE = "modules/local/plink2/indeppairwise/main.nf"
PCA = "modules/local/plink2/pca/main.nf"
META = {"id": "genotypes"}
PGEN = {"meta": META, "pgen": "genotype_pca.pgen", "pvar": "genotype_pca.pvar", "psam": "genotype_pca.psam"}


def individuals(test_world) -> pd.DataFrame:
    return pd.read_csv(test_world / "genotypes" / "individuals.tsv", sep="\t", index_col=0)


def make_pgen(test_world, workdir, keep: list[str]):
    require_tool("plink2")
    for name in ("genotypes.vcf.gz", "genotypes.vcf.gz.tbi"):
        os.symlink(test_world / "genotypes" / name, workdir / name)
    (workdir / "keep.txt").write_text("\n".join(keep) + "\n")
    rendered = render_process(
        VCF2PGEN,
        inputs={"meta": META, "vcf": "genotypes.vcf.gz", "tbi": "genotypes.vcf.gz.tbi", "keep": "keep.txt"},
        ext={"prefix": "genotype_pca", "args": "--max-alleles 2 --snps-only --autosome --maf 0.01"},
    )
    proc = rendered.run(workdir, check=False)
    if proc.returncode == 0:
        rendered.check_outputs(workdir)
    return proc


def between_group_share(points: np.ndarray, groups: np.ndarray) -> float:
    centre = points.mean(axis=0)
    between = sum(len(sel) * ((sel.mean(axis=0) - centre) ** 2).sum() for sel in (points[groups == g] for g in np.unique(groups)))
    return between / ((points - centre) ** 2).sum()


def test_pruned_pca_separates_populations(test_world, tmp_path):
    table = individuals(test_world)
    assert make_pgen(test_world, tmp_path, list(table.index)).returncode == 0
    assert "--autosome" in (tmp_path / "genotype_pca.log").read_text()
    pruned = render_process(PRUNE, inputs=PGEN, ext={"prefix": "genotype_pca", "args": "--indep-pairwise 200 20 0.2"})
    pruned.run(tmp_path)
    pruned.check_outputs(tmp_path)
    kept = (tmp_path / "genotype_pca.prune.in").read_text().split()
    assert 0 < len(kept) < len((tmp_path / "genotype_pca.pvar").read_text().splitlines())
    pca = render_process(
        PCA, inputs={**PGEN, "extract": "genotype_pca.prune.in"}, ext={"prefix": "genotype_pca", "n_pcs": 20, "args": "--seed 1"}
    )
    pca.run(tmp_path)
    pca.check_outputs(tmp_path)
    eigenvec = pd.read_csv(tmp_path / "genotype_pca.eigenvec", sep="\t", index_col=0)
    assert eigenvec.shape == (len(table), 20) and set(eigenvec.index) == set(table.index)
    assert between_group_share(eigenvec[["PC1", "PC2"]].to_numpy(), table.loc[eigenvec.index, "population"].to_numpy()) > 0.6
    assert "plink2: 2." in (tmp_path / "versions.yml").read_text()


def test_unpruned_pca_on_few_samples_caps_the_pcs(test_world, tmp_path):
    """12 samples: at most 11 PCs, and plink2's small-sample guards are lifted with a warning (MAGE ran without pruning)."""
    keep = list(individuals(test_world).index[:12])
    assert make_pgen(test_world, tmp_path, keep).returncode == 0
    pca = render_process(PCA, inputs={**PGEN, "extract": []}, ext={"prefix": "genotype_pca", "n_pcs": 20})
    assert "--extract" not in pca.script
    proc = pca.run(tmp_path)
    assert "computing 11 PCs (12 samples) instead of 20" in proc.stderr and "--bad-freqs" in proc.stderr
    assert pd.read_csv(tmp_path / "genotype_pca.eigenvec", sep="\t", index_col=0).shape == (12, 11)
    proc = render_process(PRUNE, inputs=PGEN, ext={"prefix": "genotype_pca"}).run(tmp_path)
    assert "LD pruning with only 12 samples" in proc.stderr


def test_individual_missing_from_the_vcf_is_an_error(test_world, tmp_path):
    keep = list(individuals(test_world).index[:60]) + ["NA00000"]
    proc = make_pgen(test_world, tmp_path, keep)
    assert proc.returncode != 0
    assert "ERROR: individual NA00000 (keep.txt) is not a sample in the VCF genotypes.vcf.gz" in proc.stderr


@pytest.mark.parametrize(
    ("module", "inputs"),
    [
        (VCF2PGEN, {"meta": META, "vcf": "g.vcf.gz", "tbi": "g.vcf.gz.tbi", "keep": "keep.txt"}),
        (PRUNE, PGEN),
        (PCA, {**PGEN, "extract": []}),
    ],
)
def test_stubs(tmp_path, module, inputs):
    rendered = render_process(module, inputs=inputs, ext={"prefix": "genotype_pca"}, stub=True)
    rendered.run(tmp_path)
    rendered.check_outputs(tmp_path)
