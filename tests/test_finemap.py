"""finemap.py and finemap_collate.py: planted single and double eQTLs recovered by the credible sets, the driver's
residualisation against an independent least-squares fit, rerun and worker-count identity, every selected phenotype
in the status table, and bad input. The SuSiE numerics themselves are checked against susieR in test_susie.py."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from test_cis_engine import cohort_args, run_cli, simulate_cohort

from magelib.finemap.susie import susie
from magelib.qtl.outputs import read_table

WINDOW = "50000"


@pytest.fixture(scope="module")
def mapped(tmp_path_factory):
    """300 samples: 8 genes with one planted eQTL (4 strong, 4 weak), 4 with two strong ones, 12 null genes."""
    out = tmp_path_factory.mktemp("finemap")
    truth = simulate_cohort(out, seed=3, n_causal=8, two_signal=4, n_null=12)
    run_cli("cis_qtl.py", "permutation", *cohort_args(out), "--out", out / "perm", "--window", WINDOW, "--permutations", "200")
    run_cli("qtl_fdr.py", "--permutation", out / "perm.cis_qtl.txt.gz", "--out", out / "perm", "--lambda", "0.5")
    return out, truth, read_table(out / "perm.cis_qtl.fdr.txt.gz")


def finemap(out, prefix: str, *extra: str, check: bool = True):
    return run_cli("finemap.py", *cohort_args(out), "--fdr-table", out / "perm.cis_qtl.fdr.txt.gz", "--window", WINDOW,
                   "--out", out / prefix, *extra, check=check)  # fmt: skip


def tables(out, prefix: str) -> dict[str, pd.DataFrame]:
    return {k: read_table(out / f"{prefix}.susie.{k}.tsv") for k in ("credible_sets", "cs_summary", "pip", "status")}


@pytest.fixture(scope="module")
def individual(mapped):
    out, truth, fdr = mapped
    finemap(out, "ind")
    return tables(out, "ind")


def test_every_egene_is_fine_mapped_and_reported(mapped, individual):
    _, _, fdr = mapped
    egenes = set(fdr.loc[fdr["qval"] <= 0.05, "phenotype_id"])
    assert egenes and set(individual["status"]["molecular_trait_id"]) == egenes
    assert set(individual["cs_summary"]["molecular_trait_id"]) <= egenes
    assert (individual["status"]["status"] == "converged").all()


def test_credible_sets_hold_the_planted_variants(mapped, individual):
    out, truth, fdr = mapped
    strong = truth[truth["effect"] == 0.5]
    variant = "chr1_" + strong["pos"].astype(str) + "_A_G"
    members = set(zip(individual["credible_sets"]["molecular_trait_id"], individual["credible_sets"]["variant"], strict=True))
    covered = [(g, v) in members for g, v in zip(strong["phenotype_id"], variant, strict=True)]
    assert np.mean(covered) >= 0.9, covered
    # genes with two planted eQTLs: two credible sets, each holding one of them
    two = strong[strong["signals"] == 2]
    summary = individual["cs_summary"].groupby("molecular_trait_id").size()
    assert (summary.reindex(two["phenotype_id"].unique()).fillna(0) == 2).mean() >= 0.75
    cs = individual["credible_sets"].set_index(["molecular_trait_id", "variant"])["cs_id"]
    distinct = [cs.reindex(list(zip([g] * 2, "chr1_" + grp["pos"].astype(str) + "_A_G", strict=True))).nunique() == 2
                for g, grp in two.groupby("phenotype_id")]  # fmt: skip
    assert np.mean(distinct) >= 0.75, distinct


def test_pips_equal_susie_on_independently_residualised_data(mapped, individual):
    """The driver's residualisation (QR of the cis engine) against numpy least squares on the raw inputs."""
    out, _, _ = mapped
    gene = individual["cs_summary"]["molecular_trait_id"].iat[0]
    pips = individual["pip"][individual["pip"]["molecular_trait_id"] == gene]
    bed = pd.read_csv(out / "phenotypes.bed.gz", sep="\t")
    samples = list(bed.columns[4:])
    y = bed.loc[bed["phenotype_id"] == gene, samples].to_numpy(dtype=float)[0]
    cov = pd.read_csv(out / "covariates.txt", sep="\t", index_col=0)[samples].to_numpy().T
    positions = set(pips["position"])
    rows = []
    with gzip.open(out / "genotypes.vcf.gz", "rt") as handle:
        for line in handle:
            fields = line.split("\t")
            if not line.startswith("#") and int(fields[1]) in positions:
                rows.append([sum(int(a) for a in call.split("|")) for call in fields[9:]])
    X = np.array(rows, dtype=float).T
    design = np.column_stack([np.ones(len(y)), cov])

    def residual(a):
        return a - design @ np.linalg.lstsq(design, a, rcond=None)[0]

    fit = susie(residual(X), residual(y))
    assert np.max(np.abs(fit.pip - pips["pip"].to_numpy())) < 1e-6


def test_rss_mode_finds_the_same_lead_variants(mapped, individual):
    out, _, _ = mapped
    finemap(out, "rss", "--mode", "rss")
    rss = tables(out, "rss")
    leads = individual["cs_summary"].groupby("molecular_trait_id")["lead_variant"].apply(set)
    rss_leads = rss["cs_summary"].groupby("molecular_trait_id")["lead_variant"].apply(set)
    assert (leads.reindex(rss_leads.index) == rss_leads).mean() >= 0.8


def test_rerun_and_two_workers_are_byte_identical(mapped, individual):
    out, _, _ = mapped
    finemap(out, "again", "--threads", "2")
    for kind in ("credible_sets", "cs_summary", "pip", "lbf_variable", "status"):
        assert (out / f"ind.susie.{kind}.tsv").read_bytes() == (out / f"again.susie.{kind}.tsv").read_bytes(), kind


def test_collate_keeps_every_table_and_writes_the_lead_variants(mapped, individual):
    out, _, _ = mapped
    run_cli("finemap_collate.py", "--inputs", *sorted(out.glob("ind.susie.*.tsv")), "--out", out / "all")
    lead = pd.read_csv(out / "all.susie.lead_variants.tsv", sep="\t")
    summary = individual["cs_summary"]
    assert list(lead["variant_id"]) == list(summary["lead_variant"]) and list(lead["gene_id"]) == list(
        summary["molecular_trait_id"]
    )
    for pip in summary["lead_pip"]:
        assert 0 < pip <= 1
    assert read_table(out / "all.susie.status.tsv.gz").equals(individual["status"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [(("--coverage", "1.5"), "--coverage"), (("--L", "0"), "--L"), (("--min-abs-corr", "2"), "--min-abs-corr")],
)
def test_bad_settings_exit_1_and_name_the_option(mapped, extra, message):
    out, _, _ = mapped
    proc = finemap(out, "bad", *extra, check=False)
    assert proc.returncode == 1 and message in proc.stderr and "Traceback" not in proc.stderr
    assert not list(out.glob("bad.susie.*"))


def test_fdr_table_without_qval_is_rejected(mapped, tmp_path):
    out, _, fdr = mapped
    fdr.drop(columns="qval").to_csv(tmp_path / "noq.tsv", sep="\t", index=False)
    proc = run_cli("finemap.py", *cohort_args(out), "--fdr-table", tmp_path / "noq.tsv", "--out", tmp_path / "x", check=False)
    assert proc.returncode == 1 and "qval" in proc.stderr
    assert not list(tmp_path.glob("x.susie.*"))


def test_collate_rejects_foreign_files(tmp_path):
    (tmp_path / "other.tsv").write_text("a\n1\n")
    proc = run_cli("finemap_collate.py", "--inputs", tmp_path / "other.tsv", "--out", tmp_path / "x", check=False)
    assert proc.returncode == 1 and "other.tsv" in proc.stderr


def test_help():
    for cli in ("finemap.py", "finemap_collate.py"):
        assert run_cli(cli, "--help").returncode == 0
