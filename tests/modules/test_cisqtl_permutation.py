"""CISQTL_PERMUTATION: the rendered script maps one chunk of a simulated cohort, ungrouped and grouped; the chunk
holds its share of the phenotypes (or groups) in BED order. The numerics are tested in tests/test_cis_engine.py."""

from __future__ import annotations

import os

import pytest
from test_cis_engine import simulate_cohort

from magelib.qtl import outputs
from nftools.render import render_process

MODULE = "modules/local/cisqtl/permutation/main.nf"
ARGS = "--window 50000 --permutations 100 --seed 1"


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    out = tmp_path_factory.mktemp("module_cohort")
    truth = simulate_cohort(out, n_samples=120, n_causal=8, n_null=12)
    return out, truth


def stage(cohort_dir, workdir, groups: bool = False) -> dict:
    for name in ("genotypes.vcf.gz", "genotypes.vcf.gz.tbi", "phenotypes.bed.gz", "phenotypes.bed.gz.tbi", "covariates.txt"):
        os.symlink(cohort_dir / name, workdir / name)
    inputs = {"meta": {"id": "eqtl"}, "phenotypes": "phenotypes.bed.gz", "phenotypes_index": "phenotypes.bed.gz.tbi", "chunk": 1,
              "n_chunks": 2, "genotypes": "genotypes.vcf.gz", "covariates": "covariates.txt", "groups": []}  # fmt: skip
    if groups:
        (workdir / "groups.txt").write_text("".join(f"G{g:04d}\tpair{g // 2}\n" for g in range(20)))
        inputs.update(meta={"id": "sqtl"}, groups="groups.txt")
    return inputs


def test_chunk_of_genes(cohort, tmp_path):
    out, _ = cohort
    r = render_process(MODULE, inputs=stage(out, tmp_path), ext={"args": ARGS}, cpus=1)
    assert "--chunk 1 2" in r.script and "--groups" not in r.script
    r.run(tmp_path)
    r.check_outputs(tmp_path)
    table = outputs.read_table(tmp_path / "eqtl.chunk0001.cis_qtl.txt.gz")
    assert table["phenotype_id"].tolist() == [f"G{g:04d}" for g in range(10)]
    assert table[["pval_beta", "beta_shape1", "beta_shape2", "true_df"]].notna().all().all()
    assert (table["num_perm"] == 100).all()


def test_grouped_chunk(cohort, tmp_path):
    out, _ = cohort
    r = render_process(MODULE, inputs=stage(out, tmp_path, groups=True), ext={"args": ARGS}, cpus=1)
    assert "--groups groups.txt" in r.script
    r.run(tmp_path)
    r.check_outputs(tmp_path)
    table = outputs.read_table(tmp_path / "sqtl.chunk0001.cis_qtl.txt.gz")
    assert table["group_id"].tolist() == [f"pair{k}" for k in range(5)] and (table["group_size"] == 2).all()


def test_stub(tmp_path):
    inputs = {"meta": {"id": "eqtl"}, "phenotypes": "p.bed.gz", "phenotypes_index": "p.bed.gz.tbi", "chunk": 3, "n_chunks": 10,
              "genotypes": "g", "covariates": "c.txt", "groups": []}  # fmt: skip
    r = render_process(MODULE, inputs=inputs, stub=True)
    r.run(tmp_path)
    r.check_outputs(tmp_path)
    assert (tmp_path / "eqtl.chunk0003.cis_qtl.txt.gz").exists()
