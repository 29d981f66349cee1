"""CISQTL_NOMINAL: the rendered script writes the chunk's cis pairs as per-chromosome parquet; and the stub."""

from __future__ import annotations

import pandas as pd
import pytest
from test_cis_engine import simulate_cohort
from test_cisqtl_permutation import stage

from nftools.render import render_process

MODULE = "modules/local/cisqtl/nominal/main.nf"


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    out = tmp_path_factory.mktemp("module_cohort_nominal")
    simulate_cohort(out, n_samples=120, n_causal=8, n_null=12)
    return out


def test_chunk_pairs(cohort, tmp_path):
    inputs = stage(cohort, tmp_path)
    inputs.pop("groups")
    inputs["chunk"] = 2
    r = render_process(MODULE, inputs=inputs, ext={"args": "--window 50000"}, cpus=1)
    r.run(tmp_path)
    r.check_outputs(tmp_path)
    pairs = pd.read_parquet(tmp_path / "eqtl.chunk0002.cis_qtl_pairs.chr1.parquet")
    assert list(pairs.columns) == ["phenotype_id", "variant_id", "tss_distance", "af", "ma_samples", "ma_count", "pval_nominal",
                                   "slope", "slope_se"]  # fmt: skip
    assert sorted(pairs["phenotype_id"].unique()) == [f"G{g:04d}" for g in range(10, 20)]
    assert pairs["tss_distance"].abs().max() <= 50_000


def test_stub(tmp_path):
    inputs = {"meta": {"id": "eqtl"}, "phenotypes": "p.bed.gz", "phenotypes_index": "p.bed.gz.tbi", "chunk": 1, "n_chunks": 1,
              "genotypes": "g", "covariates": "c.txt"}  # fmt: skip
    r = render_process(MODULE, inputs=inputs, stub=True)
    r.run(tmp_path)
    r.check_outputs(tmp_path)
