"""qtl_fdr.py: q-values over all chunks at once (or per chromosome), GTEx thresholds, eGenes and significant pairs,
checked against their definitions recomputed here from the inputs (the q-value numerics are in test_qvalue.py)."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy.special import betaincinv

from magelib.qtl import outputs
from magelib.qtl.qvalue import qvalue


def run(*args, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(proc.stderr)
    return proc


def fake_tables(tmp_path, n: int = 600, grouped: bool = False, seed: int = 1):
    """Permutation tables in 3 chunks over 2 chromosomes, and nominal parquets with 30 pairs per phenotype."""
    rng = np.random.default_rng(seed)
    signal = rng.random(n) < 0.3
    table = pd.DataFrame(
        {
            "phenotype_id": [f"P{i:04d}" for i in range(n)],
            "num_var": 30,
            "beta_shape1": rng.uniform(0.95, 1.1, n),
            "beta_shape2": rng.uniform(100, 2000, n),
            "true_df": 250.0,
            "pval_true_df": 0.01,
            "variant_id": "v",
            "tss_distance": 0,
            "ma_samples": 10,
            "ma_count": 12,
            "af": 0.2,
            "pval_nominal": 0.01,
            "slope": 0.1,
            "slope_se": 0.05,
            "pval_perm": 0.5,
            "pval_beta": np.where(signal, rng.beta(0.1, 20, n), rng.uniform(size=n)),
            "num_perm": 1000,
            "phenotype_chr": np.where(np.arange(n) < n // 2, "chr1", "chr2"),
            "phenotype_tss": 1000,
        }
    )
    if grouped:
        table.insert(16, "group_id", [f"gene{i:04d}" for i in range(n)])
        table.insert(17, "group_size", 2)
    paths = []
    for k, rows in enumerate(np.array_split(np.arange(n), 3)):
        part = table.iloc[rows]
        paths.append(tmp_path / f"chunk{k}.cis_qtl.txt.gz")
        outputs.write_table(part, paths[-1])
    members = [f"P{i:04d}" + (suffix if grouped else "") for i in range(n) for suffix in (["_a", "_b"] if grouped else [""])]
    pairs = pd.DataFrame({"phenotype_id": np.repeat(members, 30), "variant_id": [f"v{j}" for j in range(30)] * len(members)})
    pairs["pval_nominal"] = rng.uniform(size=len(pairs)) ** 4
    for column, value in (
        ("tss_distance", 0),
        ("af", 0.2),
        ("ma_samples", 10),
        ("ma_count", 12),
        ("slope", 0.1),
        ("slope_se", 0.05),
    ):
        pairs[column] = value
    pairs = pairs[outputs.NOMINAL_COLUMNS]
    nominal = []
    for chrom, part in (("chr1", pairs.iloc[: len(pairs) // 2]), ("chr2", pairs.iloc[len(pairs) // 2 :])):
        nominal.append(tmp_path / f"x.cis_qtl_pairs.{chrom}.parquet")
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False), nominal[-1])
    groups = None
    if grouped:
        groups = tmp_path / "groups.txt"
        groups.write_text("".join(f"{m}\t{m[:5].replace('P', 'gene')}\n" for m in members))
    written = pd.concat([outputs.read_table(path) for path in paths], ignore_index=True)  # as qtl_fdr.py reads them
    return written, paths, nominal, pairs, groups


def test_genome_wide_fdr_thresholds_and_pairs(tmp_path):
    table, paths, nominal, pairs, _ = fake_tables(tmp_path)
    run("qtl_fdr.py", "--permutation", *paths, "--nominal", *nominal, "--out", tmp_path / "out")
    result = outputs.read_table(tmp_path / "out.cis_qtl.fdr.txt.gz")
    assert result["phenotype_id"].tolist() == table["phenotype_id"].tolist()  # chunks gathered in the order given
    q, _ = qvalue(table["pval_beta"].to_numpy())
    np.testing.assert_allclose(result["qval"], q, rtol=1e-9)
    passed, failed = table["pval_beta"][q <= 0.05], table["pval_beta"][q > 0.05]
    p_t = (passed.max() + failed.min()) / 2
    np.testing.assert_allclose(
        result["pval_nominal_threshold"], betaincinv(table["beta_shape1"], table["beta_shape2"], p_t), rtol=1e-9
    )
    egenes = outputs.read_table(tmp_path / "out.egenes.txt.gz")
    assert egenes["phenotype_id"].tolist() == table["phenotype_id"][q <= 0.05].tolist()
    threshold = result.set_index("phenotype_id")["pval_nominal_threshold"]
    expected = pairs[pairs["phenotype_id"].isin(egenes["phenotype_id"])]
    expected = expected[expected["pval_nominal"] < expected["phenotype_id"].map(threshold)]
    found = pd.read_csv(tmp_path / "out.significant_pairs.txt.gz", sep="\t")
    assert len(found) == len(expected) > 0
    assert (found["phenotype_id"] + found["variant_id"]).tolist() == (expected["phenotype_id"] + expected["variant_id"]).tolist()
    for name in ("summary", "qq", "beta_fit", "true_df"):
        content = json.loads((tmp_path / f"out.{name}_mqc.json").read_text())
        assert content["id"].startswith("mage_") and content["data"]


def test_per_chromosome_scope_is_mages_per_chromosome_runs(tmp_path):
    table, paths, _, _, _ = fake_tables(tmp_path)
    run("qtl_fdr.py", "--permutation", *paths, "--out", tmp_path / "out", "--per-chromosome", "--lambda", "0.5")
    result = outputs.read_table(tmp_path / "out.cis_qtl.fdr.txt.gz")
    for chrom in ("chr1", "chr2"):
        rows = (table["phenotype_chr"] == chrom).to_numpy()
        q, _ = qvalue(table.loc[rows, "pval_beta"].to_numpy(), 0.5)
        np.testing.assert_allclose(result.loc[rows, "qval"], q, rtol=1e-9)
    genome, _ = qvalue(table["pval_beta"].to_numpy(), 0.5)
    assert not np.allclose(result["qval"], genome)


def test_bh_and_grouped_thresholds(tmp_path):
    table, paths, nominal, pairs, groups = fake_tables(tmp_path, grouped=True)
    run(
        "qtl_fdr.py",
        "--permutation",
        *paths,
        "--nominal",
        *nominal,
        "--groups",
        groups,
        "--out",
        tmp_path / "out",
        "--method",
        "bh",
    )
    result = outputs.read_table(tmp_path / "out.cis_qtl.fdr.txt.gz")
    p = table["pval_beta"].to_numpy()
    order = np.argsort(p)
    bh = np.minimum.accumulate((p[order] * len(p) / np.arange(1, len(p) + 1))[::-1])[::-1]
    expected_q = np.empty_like(p)
    expected_q[order] = np.minimum(bh, 1)
    np.testing.assert_allclose(result["qval"], expected_q, rtol=1e-9)
    found = pd.read_csv(tmp_path / "out.significant_pairs.txt.gz", sep="\t")
    # every intron (phenotype) gets its group's threshold
    group_threshold = result.set_index("group_id")["pval_nominal_threshold"]
    assert (found["pval_nominal_threshold"] == found["phenotype_id"].str[:5].str.replace("P", "gene").map(group_threshold)).all()
    assert (found["pval_nominal"] < found["pval_nominal_threshold"]).all() and len(found) > 0


def test_few_genes_need_fixed_lambda_or_bh(tmp_path):
    table, _, _, _, _ = fake_tables(tmp_path, n=12, seed=3)
    table["pval_beta"] = np.linspace(0.001, 0.9, 12)
    outputs.write_table(table, tmp_path / "few.cis_qtl.txt.gz")
    proc = run("qtl_fdr.py", "--permutation", tmp_path / "few.cis_qtl.txt.gz", "--out", tmp_path / "o", check=False)
    assert proc.returncode == 1 and "fixed lambda or Benjamini-Hochberg" in proc.stderr
    assert not list(tmp_path.glob("o.*"))
    run("qtl_fdr.py", "--permutation", tmp_path / "few.cis_qtl.txt.gz", "--out", tmp_path / "o", "--lambda", "0.5")
    assert outputs.read_table(tmp_path / "o.cis_qtl.fdr.txt.gz")["qval"].notna().all()


def test_overlapping_chunks_are_refused(tmp_path):
    _, paths, _, _, _ = fake_tables(tmp_path)
    proc = run("qtl_fdr.py", "--permutation", paths[0], paths[0], "--out", tmp_path / "o", check=False)
    assert proc.returncode == 1 and "P0000" in proc.stderr and "more than one" in proc.stderr


@pytest.mark.parametrize("column", ["pval_beta", "variant_id"])
def test_not_a_permutation_table(tmp_path, column):
    table, _, _, _, _ = fake_tables(tmp_path, n=30)
    outputs.write_table(table.drop(columns=[column]), tmp_path / "bad.txt.gz")
    proc = run("qtl_fdr.py", "--permutation", tmp_path / "bad.txt.gz", "--out", tmp_path / "o", check=False)
    assert proc.returncode == 1 and f"'{column}' missing" in proc.stderr
