"""CISQTL_FDR: the rendered script gathers two chunk tables and their nominal pairs into the FDR table, eGenes and
significant pairs; MultiQC reads its custom content; and the stub."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from test_cis_engine import cohort_args, run_cli, simulate_cohort

from conftest import require_tool
from magelib.qtl import outputs
from nftools.render import render_process

MODULE = "modules/local/cisqtl/fdr/main.nf"


@pytest.fixture(scope="module")
def chunks(tmp_path_factory):
    out = tmp_path_factory.mktemp("module_cohort_fdr")
    simulate_cohort(out, n_samples=120, n_causal=8, n_null=40)
    for k in (1, 2):
        args = [*cohort_args(out), "--window", "50000", "--chunk", k, 2, "--out", out / f"eqtl.chunk000{k}"]
        run_cli("cis_qtl.py", "permutation", *args, "--permutations", "200")
        run_cli("cis_qtl.py", "nominal", *args)
    return out


def test_gathers_chunks(chunks, tmp_path):
    (tmp_path / "permutation").mkdir()
    (tmp_path / "nominal").mkdir()
    for k in (1, 2):
        shutil.copy(chunks / f"eqtl.chunk000{k}.cis_qtl.txt.gz", tmp_path / "permutation")
        shutil.copy(chunks / f"eqtl.chunk000{k}.cis_qtl_pairs.chr1.parquet", tmp_path / "nominal")
    inputs = {
        "meta": {"id": "eqtl"},
        "tables": [f"permutation/eqtl.chunk000{k}.cis_qtl.txt.gz" for k in (1, 2)],
        "nominal": [f"nominal/eqtl.chunk000{k}.cis_qtl_pairs.chr1.parquet" for k in (1, 2)],
        "groups": [],
    }
    r = render_process(MODULE, inputs=inputs, ext={"args": "--fdr 0.05 --method qvalue --lambda 0.5"})
    r.run(tmp_path)
    r.check_outputs(tmp_path)
    table = outputs.read_table(tmp_path / "eqtl.cis_qtl.fdr.txt.gz")
    assert len(table) == 48 and table["qval"].notna().all()
    egenes = outputs.read_table(tmp_path / "eqtl.egenes.txt.gz")
    assert len(egenes) == (table["qval"] <= 0.05).sum() > 0
    require_tool("multiqc")
    subprocess.run(["multiqc", "--quiet", "--force", "--outdir", "mqc", "."], cwd=tmp_path, check=True, capture_output=True)
    found = {p.name for p in (tmp_path / "mqc" / "multiqc_data").iterdir()}
    for section in ("summary_table", "qq_plot", "beta_fit_plot", "true_df_plot"):
        assert f"multiqc_mage_cisqtl_{section}.txt" in found, found


def test_stub(tmp_path):
    inputs = {"meta": {"id": "eqtl"}, "tables": ["permutation/a.txt.gz"], "nominal": [], "groups": []}
    r = render_process(MODULE, inputs=inputs, stub=True)
    r.run(tmp_path)
    r.check_outputs(tmp_path)
