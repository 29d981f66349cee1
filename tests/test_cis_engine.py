"""cis_qtl.py against FastQTL (Debian fastqtl, GTEx fork) on real GEUVADIS chr22 data, planted eQTLs, and the
engine's own guarantees (reproducibility, chunking, float32, bad input).

GEUVADIS (shared data): 358 samples, 85,485 variants, 608 genes; the un-normalised BED is inverse-normal transformed
per gene here, written as a 4-column BED for both tools; 53 covariates.
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import scipy.stats as ss

from conftest import require_tool
from magelib.cli import InputError
from magelib.qtl import benchmark, beta, kernels, outputs, windows, workers

GEUVADIS = "qtltools-example_geuvadis-chr22"
FASTQTL_COLUMNS = [
    "phenotype_id", "num_var", "beta_shape1", "beta_shape2", "true_df", "pval_true_df", "variant_id", "tss_distance",
    "ma_samples", "ma_count", "maf", "ref_factor", "pval_nominal", "slope", "slope_se", "pval_perm", "pval_beta",
]  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------------------------


def index_bed(path: Path) -> Path:
    subprocess.run(["bgzip", "-f", str(path)], check=True)
    subprocess.run(["tabix", "-f", "-p", "bed", f"{path}.gz"], check=True)
    return Path(f"{path}.gz")


def geuvadis_inputs(shared_data: Path, out: Path, genes: slice | None = None) -> list[str]:
    """CLI arguments for GEUVADIS chr22: INT-normalised 4-column BED (optionally a slice of genes), tab covariates."""
    data = shared_data / GEUVADIS
    raw = pd.read_csv(data / "genes.50percent.chr22.bed.gz", sep="\t")
    if genes is not None:
        raw = raw.iloc[genes]
    values = raw.iloc[:, 6:]
    ranks = values.rank(axis=1, method="average").to_numpy()
    normal = pd.DataFrame(ss.norm.ppf(ranks / (values.shape[1] + 1)), columns=values.columns, index=raw.index)
    bed = pd.concat([raw.iloc[:, :4], normal], axis=1)
    bed.to_csv(out / "phenotypes.bed", sep="\t", index=False, float_format="%.10g")
    covariates = pd.read_csv(data / "genes.covariates.pc50.txt.gz", sep=r"\s+")
    covariates.to_csv(out / "covariates.txt", sep="\t", index=False)
    return ["--genotypes", str(data / "genotypes.chr22.vcf.gz"), "--phenotypes", str(index_bed(out / "phenotypes.bed")),
            "--covariates", str(out / "covariates.txt")]  # fmt: skip


def simulate_cohort(out: Path, seed: int = 1, n_samples: int = 300, n_causal: int = 40, n_null: int = 120, two_signal: int = 0,
                    effect: float = 0.5, weak_effect: float = 0.2, spacing: int = 100_000) -> pd.DataFrame:  # fmt: skip
    """Planted cis-eQTLs on chr1: genotypes with LD (haplotypes copying 8 founders), phenotypes with known effects.

    Genes 0..n_causal-1 have one causal variant within 20 kb of the TSS (half with ``effect``, half with
    ``weak_effect`` standard deviations per standardised genotype); the next ``two_signal`` genes have two causal
    variants 30 kb apart (both ``effect``); the rest are null. Three covariates act on every phenotype.
    Writes genotypes.vcf.gz, phenotypes.bed.gz, covariates.txt (+ indexes); returns the truth table.
    """
    rng = np.random.default_rng(seed)
    n_genes = n_causal + two_signal + n_null
    tss = 200_000 + np.arange(n_genes) * spacing
    positions = np.arange(100_000, tss[-1] + 100_000, 1000) + rng.integers(0, 500, 1)  # one variant per kb
    n_var, n_hap = len(positions), 2 * n_samples
    freq = rng.uniform(0.1, 0.6, n_var)
    founders = (rng.random((8, n_var)) < freq).astype(np.int8)
    switch = rng.random((n_hap, n_var)) < 0.08
    switch[:, 0] = True
    last = np.maximum.accumulate(np.where(switch, np.arange(n_var), 0), axis=1)
    chosen = rng.integers(0, 8, (n_hap, n_var))[np.arange(n_hap)[:, None], last]
    haplotypes = founders[chosen, np.arange(n_var)] ^ (rng.random((n_hap, n_var)) < 0.01)
    genotypes = (haplotypes[0::2] + haplotypes[1::2]).astype(float)  # samples x variants
    samples = [f"S{i:04d}" for i in range(n_samples)]

    covariates = rng.standard_normal((3, n_samples))
    phenotypes = rng.standard_normal((n_genes, n_samples)) + rng.normal(0, 0.5, (n_genes, 3)) @ covariates
    truth = []
    for g in range(n_causal + two_signal):
        near = np.nonzero((np.abs(positions - tss[g]) <= 20_000) & (genotypes.mean(0) / 2 > 0.1) & (genotypes.mean(0) / 2 < 0.9))[
            0
        ]
        picks = [rng.choice(near)] if g < n_causal else [near[0], near[-1]]
        size = effect if (g < n_causal // 2 or g >= n_causal) else weak_effect
        for v in picks:
            standard = (genotypes[:, v] - genotypes[:, v].mean()) / genotypes[:, v].std()
            phenotypes[g] += size * standard
            truth.append({"phenotype_id": f"G{g:04d}", "variant": v, "pos": positions[v], "effect": size, "signals": len(picks)})

    plain = out / "genotypes.vcf"
    with open(plain, "w") as handle:
        handle.write("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=100000000>\n")
        handle.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
        handle.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(samples) + "\n")
        calls = np.where(haplotypes[0::2] == 1, "1", "0").astype(object) + "|" + np.where(haplotypes[1::2] == 1, "1", "0")
        for v, pos in enumerate(positions):
            handle.write(f"chr1\t{pos}\tchr1_{pos}_A_G\tA\tG\t.\tPASS\t.\tGT\t" + "\t".join(calls[:, v]) + "\n")
    subprocess.run(["bgzip", "-f", str(plain)], check=True)
    subprocess.run(["tabix", "-f", "-p", "vcf", f"{plain}.gz"], check=True)

    bed = pd.DataFrame({"#chr": "chr1", "start": tss - 1, "end": tss, "phenotype_id": [f"G{g:04d}" for g in range(n_genes)]})
    bed = pd.concat([bed, pd.DataFrame(phenotypes, columns=samples)], axis=1)
    bed.to_csv(out / "phenotypes.bed", sep="\t", index=False, float_format="%.8g")
    index_bed(out / "phenotypes.bed")
    pd.DataFrame(covariates, index=["c1", "c2", "c3"], columns=samples).to_csv(out / "covariates.txt", sep="\t", index_label="id")
    return pd.DataFrame(truth)


def cohort_args(directory: Path) -> list[str]:
    return ["--genotypes", str(directory / "genotypes.vcf.gz"), "--phenotypes", str(directory / "phenotypes.bed.gz"),
            "--covariates", str(directory / "covariates.txt")]  # fmt: skip


def run_cli(*args, check: bool = True) -> subprocess.CompletedProcess:
    """Run a CLI single-threaded (BLAS threads only slow these small problems down on a shared machine)."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(proc.stderr)
    return proc


def read_fastqtl(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", header=None, names=FASTQTL_COLUMNS).set_index("phenotype_id")


def run_fastqtl(inputs: list[str], out: Path, *extra: str) -> Path:
    require_tool("fastQTL")
    args = dict(zip(inputs[::2], inputs[1::2], strict=True))
    name = f"fastqtl{'_'.join(extra).replace('-', '')}"
    covariates = out / f"{name}.covariates.txt.gz"  # FastQTL reads covariates gzipped; one copy per (concurrent) run
    with open(args["--covariates"]) as src, gzip.open(covariates, "wt", compresslevel=1) as dst:
        dst.write(src.read())
    target = out / f"{name}.txt.gz"
    run_cli("fastQTL", "--vcf", args["--genotypes"], "--bed", args["--phenotypes"], "--cov", covariates,
            "--out", target, "--maf-threshold", "0.01", "--chunk", "1", "1", *extra)  # fmt: skip
    return target


# ---------------------------------------------------------------------------------------------------------------
# Against FastQTL
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def geuvadis_region(shared_data, tmp_path_factory):
    """GEUVADIS genes 20-44 (chr22:17.5-18.9 Mb)."""
    out = tmp_path_factory.mktemp("geuvadis_region")
    return out, geuvadis_inputs(shared_data, out, slice(20, 44))


def test_nominal_equals_fastqtl(geuvadis_region):
    out, inputs = geuvadis_region
    reference = pd.read_csv(run_fastqtl(inputs, out), sep="\t", header=None, names=FASTQTL_COLUMNS[:1] + [
        "variant_id", "tss_distance", "ma_samples", "ma_count", "maf", "pval_nominal", "slope", "slope_se"])  # fmt: skip
    run_cli("cis_qtl.py", "nominal", *inputs, "--out", out / "ours")
    ours = pd.read_parquet(out / "ours.cis_qtl_pairs.chr22.parquet")
    assert len(ours) == len(reference) > 50_000
    both = ours.merge(reference, on=["phenotype_id", "variant_id"], suffixes=("", "_fq"), validate="1:1")
    assert len(both) == len(reference)
    for column in ("tss_distance", "ma_samples", "ma_count"):
        assert (both[column] == both[f"{column}_fq"]).all(), column
    np.testing.assert_allclose(both["af"].where(both["af"] <= 0.5, 1 - both["af"]), both["maf"], atol=1e-6)
    # FastQTL prints 6 significant digits, so relative 1e-5 is the resolution of the comparison
    np.testing.assert_allclose(both["pval_nominal"], both["pval_nominal_fq"], rtol=1e-5)
    np.testing.assert_allclose(both["slope_se"], both["slope_se_fq"], rtol=1e-5)
    # slopes: relative 1e-5 where |t| >= 0.1; near zero FastQTL's single-precision r limits it to 1e-4 of the SE
    t = np.abs(both["slope_fq"] / both["slope_se_fq"])
    clear = t >= 0.1
    np.testing.assert_allclose(both.loc[clear, "slope"], both.loc[clear, "slope_fq"], rtol=1e-5)
    assert (np.abs(both["slope"] - both["slope_fq"]) <= 1e-4 * both["slope_se_fq"]).all()


def agreement(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, float]:
    """How close two permutation tables are: Spearman of pval_beta, largest |delta log10 pval_beta| where the beta
    approximation is resolved by the permutations (pval_beta >= 1e-10) and relative to -log10 p beyond, learned df
    and beta shape2 (correlation, and means)."""
    common = a.index.intersection(b.index)
    la, lb = -np.log10(a.loc[common, "pval_beta"]), -np.log10(b.loc[common, "pval_beta"])
    delta, mean = np.abs(la - lb), (la + lb) / 2
    return {
        "spearman": ss.spearmanr(la, lb)[0],
        "max_dlog10_resolved": float(delta[mean <= 10].max()),
        "max_dlog10_relative": float((delta / mean)[mean > 10].max()) if (mean > 10).any() else 0.0,
        "true_df_r": float(np.corrcoef(a.loc[common, "true_df"], b.loc[common, "true_df"])[0, 1]),
        "shape2_r": float(np.corrcoef(a.loc[common, "beta_shape2"], b.loc[common, "beta_shape2"])[0, 1]),
        "true_df_mean_ratio": float(a.loc[common, "true_df"].mean() / b.loc[common, "true_df"].mean()),
        "shape1_mean_ratio": float(a.loc[common, "beta_shape1"].mean() / b.loc[common, "beta_shape1"].mean()),
    }


@pytest.fixture(scope="module")
def permutation_runs(shared_data, tmp_path_factory):
    """FastQTL with seeds 1 and 2 and ours, 1000 permutations, genes 0-59, window 100 kb (CI-sized), run concurrently."""
    from concurrent.futures import ThreadPoolExecutor

    out = tmp_path_factory.mktemp("geuvadis_perm")
    inputs = geuvadis_inputs(shared_data, out, slice(0, 60))
    with ThreadPoolExecutor(3) as pool:
        runs = [
            pool.submit(run_fastqtl, inputs, out, "--permute", "1000", "--window", "100000", "--seed", str(s)) for s in (1, 2)
        ]
        ours = pool.submit(run_cli, "cis_qtl.py", "permutation", *inputs, "--out", out / "ours", "--permutations", "1000",
                           "--window", "100000")  # fmt: skip
        fq = [read_fastqtl(run.result()) for run in runs]
        ours.result()
    return out, inputs, fq, outputs.read_table(out / "ours.cis_qtl.txt.gz").set_index("phenotype_id")


def test_permutation_agrees_with_fastqtl_as_fastqtl_with_itself(permutation_runs):
    _, _, (fq1, fq2), ours = permutation_runs
    tested = fq1.index[fq1["pval_beta"].notna()]
    assert ours.loc[tested, "num_var"].tolist() == fq1.loc[tested, "num_var"].tolist()
    # the observed statistic is FastQTL's (ties between identical genotypes aside, the same p-value)
    np.testing.assert_allclose(ours.loc[tested, "pval_nominal"], fq1.loc[tested, "pval_nominal"], rtol=1e-4)
    np.testing.assert_allclose(ours.loc[tested, "slope"].abs(), fq1.loc[tested, "slope"].abs(), rtol=1e-4)
    seeds = agreement(fq1.loc[tested], fq2.loc[tested])
    mage = [agreement(ours.loc[tested], f.loc[tested]) for f in (fq1, fq2)]
    print(f"\nFastQTL seed 1 vs 2: {seeds}\nmage vs FastQTL seeds 1, 2: {mage}")
    assert min(m["spearman"] for m in mage) >= min(seeds["spearman"], 0.999) - 0.002
    assert max(m["max_dlog10_resolved"] for m in mage) <= 1.5 * seeds["max_dlog10_resolved"] + 0.1
    assert max(m["max_dlog10_relative"] for m in mage) <= 1.5 * seeds["max_dlog10_relative"] + 0.02
    # beta shapes track FastQTL's as its own two seeds do; the learned df agrees on average (per gene it is
    # dominated by permutation noise at 1000 permutations: see docs/qtl_engine.md for the correlations)
    assert min(m["shape2_r"] for m in mage) >= seeds["shape2_r"] - 0.1
    for m in mage:
        assert abs(m["true_df_mean_ratio"] - 1) < 0.02 and abs(m["shape1_mean_ratio"] - 1) < 0.03
    # pval_perm: the same empirical quantity, so differences are binomial noise of 1000 permutations
    p_ours, p_fq = ours.loc[tested, "pval_perm"], fq1.loc[tested, "pval_perm"]
    noise = np.sqrt(p_fq * (1 - p_fq) / 1000) * 2 + np.sqrt(p_ours * (1 - p_ours) / 1000) * 2 + 0.002
    assert (np.abs(p_ours - p_fq) <= 2 * noise).mean() >= 0.95


def test_permutation_significant_genes_agree(permutation_runs):
    """eGenes (BH 5 % on pval_beta over these 60 genes): any gene called differently from FastQTL is borderline
    (q in [0.02, 0.1] in every run), as between FastQTL's own two seeds."""
    from magelib.qtl.qvalue import bh

    _, _, (fq1, fq2), ours = permutation_runs
    tested = fq1.index[fq1["pval_beta"].notna()]
    runs = {"fq1": fq1, "fq2": fq2, "ours": ours}
    q = pd.DataFrame({name: bh(t.loc[tested, "pval_beta"].to_numpy()) for name, t in runs.items()}, index=tested)
    called = q <= 0.05
    assert called["fq1"].sum() >= 20
    differ = called["ours"] != called["fq1"]
    assert differ.sum() <= max(2, 2 * (called["fq2"] != called["fq1"]).sum())
    assert ((q[differ] >= 0.02) & (q[differ] <= 0.1)).all().all()


def test_float32_kernel_matches_float64(permutation_runs):
    out, inputs, _, ours = permutation_runs
    run_cli("cis_qtl.py", "permutation", *inputs, "--out", out / "f64", "--permutations", "1000", "--window", "100000",
            "--float64", "--chunk", "1", "6")  # fmt: skip
    f64 = outputs.read_table(out / "f64.cis_qtl.txt.gz").set_index("phenotype_id")
    f32 = ours.loc[f64.index]
    assert (f32["num_perm"] == f64["num_perm"]).all()
    assert (np.abs(f32["pval_perm"] - f64["pval_perm"]) <= 1 / 1001 + 1e-12).all()  # at most one borderline shuffle
    np.testing.assert_allclose(np.log10(f32["pval_beta"]), np.log10(f64["pval_beta"]), atol=1e-3)
    np.testing.assert_allclose(f32["true_df"], f64["true_df"], rtol=1e-3)


def test_qtltools_six_column_bed_is_read(permutation_runs, tmp_path):
    """A QTLtools BED (#chr start end gene length strand samples...) gives the same results as its 4-column form."""
    out, inputs, _, _ = permutation_runs
    args = dict(zip(inputs[::2], inputs[1::2], strict=True))
    four = pd.read_csv(args["--phenotypes"], sep="\t").iloc[:8]
    six = pd.concat([four.iloc[:, :4], pd.DataFrame({"length": 1000, "strand": "+"}, index=four.index), four.iloc[:, 4:]], axis=1)
    four.to_csv(tmp_path / "four.bed", sep="\t", index=False)
    six.to_csv(tmp_path / "six.bed", sep="\t", index=False)
    for name in ("four", "six"):
        bed = index_bed(tmp_path / f"{name}.bed")
        run_cli("cis_qtl.py", "nominal", "--genotypes", args["--genotypes"], "--phenotypes", bed, "--covariates",
                args["--covariates"], "--out", tmp_path / name, "--window", "100000")  # fmt: skip
    a, b = (pd.read_parquet(tmp_path / f"{n}.cis_qtl_pairs.chr22.parquet") for n in ("four", "six"))
    assert len(a) > 1000
    pd.testing.assert_frame_equal(a, b)


# ---------------------------------------------------------------------------------------------------------------
# The permutation statistic, closed forms
# ---------------------------------------------------------------------------------------------------------------


def test_permutation_kernel_equals_fastqtl_procedure():
    """max |r| per shuffle equals FastQTL's loop: shuffle the raw phenotype, regress on covariates, correlate."""
    rng = np.random.default_rng(3)
    n, v = 120, 40
    covariates = rng.standard_normal((n, 4))
    residualiser = kernels.Residualiser(covariates)
    genotypes = rng.integers(0, 3, (v, n)).astype(float)
    g, _ = kernels.unit_rows(residualiser.residualise(genotypes))
    y = rng.standard_normal((1, n)) + covariates @ rng.standard_normal(4)
    shuffles = kernels.permutation_matrix(n, 50, seed=9)
    kernel = kernels.permuted_max_r(g, kernels.centred_unit(y), residualiser.Q, shuffles)
    design = np.column_stack([np.ones(n), covariates])
    resid_g = genotypes.T - design @ np.linalg.lstsq(design, genotypes.T, rcond=None)[0]
    for k, order in enumerate(shuffles):
        shuffled = y[0, order]
        resid_y = shuffled - design @ np.linalg.lstsq(design, shuffled, rcond=None)[0]
        best = max(abs(np.corrcoef(resid_g[:, j], resid_y)[0, 1]) for j in range(v))
        assert kernel[k] == pytest.approx(best, rel=1e-10)


def test_adaptive_stopping_is_fastqtls_rule():
    """(hits, max): stop at the permutation where the hits-th better shuffle occurs; the block size does not matter."""
    rng = np.random.default_rng(4)
    n = 80
    g, _ = kernels.unit_rows(kernels.Residualiser(np.empty((n, 0))).residualise(rng.standard_normal((30, n))))
    y = kernels.centred_unit(rng.standard_normal((1, n)))
    shuffles = kernels.permutation_matrix(n, 3000, seed=1)
    basis = np.ones((n, 1)) / np.sqrt(n)
    r_obs = 0.25
    every = kernels.permuted_max_r(g, y, basis, shuffles)
    stop = int(np.nonzero(np.cumsum(every >= r_obs) == 25)[0][0])
    adaptive = kernels.run_permutations(g, y, basis, r_obs, shuffles, (25, 3000))
    assert len(adaptive) == stop + 1
    np.testing.assert_array_equal(adaptive, every[: stop + 1])
    capped = kernels.run_permutations(g, y, basis, 0.99, shuffles, (25, 1500))
    assert len(capped) == 1500


class TwinSource:
    """A genotype source of 12 variants, 100 bp apart, where variants (0, 5, 8), (2, 3, 9) and (4, 11) are twins
    (identical dosages); the rest are distinct."""

    def __init__(self, n: int = 60, seed: int = 5):
        rng = np.random.default_rng(seed)
        self.dosage = rng.integers(0, 3, (12, n)).astype(float)
        for first, *twins in ((0, 5, 8), (2, 3, 9), (4, 11)):
            self.dosage[twins] = self.dosage[first]
        self.pos = 1000 + 100 * np.arange(12)

    def load(self, chrom, start, end, sample_index):
        keep = (self.pos >= start) & (self.pos <= end)
        table = pd.DataFrame({"pos": self.pos[keep], "variant_id": [f"v{p}" for p in self.pos[keep]]})
        return table, self.dosage[keep][:, sample_index]


def test_twin_variants_enter_the_kernel_once():
    """Twins give the same |r| under every shuffle, so the kernel keeps one row per set, also when the window
    starts after a set's first member; the permuted max is unchanged."""
    source = TwinSource()
    n = source.dosage.shape[1]
    residualiser = kernels.Residualiser(np.random.default_rng(1).standard_normal((n, 2)))
    bins = windows.GenotypeBins(source, np.arange(n), residualiser, maf=0.0)
    y = kernels.centred_unit(np.random.default_rng(2).standard_normal((1, n)))
    shuffles = kernels.permutation_matrix(n, 200, seed=3)
    for lo in (0, 1500):  # all 12 variants (7 distinct); variants 5..11, where 5 and 8 are twins of 0 (6 distinct)
        window = bins.window("chr1", lo, 10_000)
        kernel = windows.kernel_rows(window, float32=True)
        distinct = {row.tobytes() for row in window.g.astype(np.float32)}
        assert len(kernel) == len(distinct) == (7 if lo == 0 else 6)
        assert {row.tobytes() for row in kernel} == distinct
        every = kernels.permuted_max_r(window.g.astype(np.float32), y, residualiser.Q, shuffles)
        np.testing.assert_allclose(kernels.permuted_max_r(kernel, y, residualiser.Q, shuffles), every, rtol=1e-6)


class FakeProblem:
    """Just what map_units needs: units numbered 0..n-1 and a genotype source to reopen."""

    def __init__(self, n: int):
        self.n_units, self.source = n, SimpleNamespace(reopen=lambda: None)

    def unit(self, i: int) -> int:
        return i

    def units(self):
        return iter(range(self.n_units))


def test_workers_keep_unit_order_and_pass_errors_on():
    def square(problem, i):
        if i == 7 and problem.n_units == 9:
            raise InputError("unit 7 is bad")
        return i * i

    assert list(workers.map_units(FakeProblem(20), square, workers=3)) == [i * i for i in range(20)]
    with pytest.raises(InputError, match="unit 7 is bad"):
        list(workers.map_units(FakeProblem(9), square, workers=2))


def test_a_killed_worker_fails_fast_as_killed(monkeypatch, capsys):
    """A worker killed by a signal (as by the OOM killer) stops the run, rather than hanging, and cis_qtl.py exits
    with 137, the code the pipeline retries with more memory, rather than 1 (bad input)."""

    def killed(problem, i):
        if i == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return i

    with pytest.raises(workers.WorkerKilled) as caught:
        list(workers.map_units(FakeProblem(8), killed, workers=2))
    from magelib.qtl import engine

    def main(argv):
        raise caught.value

    monkeypatch.setattr(engine, "single_threaded_blas", lambda: None)  # leave this process's environment alone
    assert engine.run_engine(main, []) == 137
    assert "worker process died" in capsys.readouterr().err


def test_pvalue_from_r_is_the_f_test():
    r = np.array([0.0, 0.01, 0.2, 0.5, 0.9, -0.3])
    df = 250.0
    t2 = df * r**2 / (1 - r**2)
    np.testing.assert_allclose(beta.pvalue_from_r(r, df), ss.f.sf(t2, 1, df), rtol=1e-12)


# ---------------------------------------------------------------------------------------------------------------
# Planted effects, reproducibility, chunking
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    out = tmp_path_factory.mktemp("cohort")
    truth = simulate_cohort(out, two_signal=6)
    return out, truth


@pytest.fixture(scope="module")
def cohort_mapped(cohort):
    out, truth = cohort
    run_cli("cis_qtl.py", "permutation", *cohort_args(out), "--out", out / "run1", "--window", "50000", "--permutations", "1000")
    run_cli("qtl_fdr.py", "--permutation", out / "run1.cis_qtl.txt.gz", "--out", out / "run1")
    return out, truth, outputs.read_table(out / "run1.cis_qtl.fdr.txt.gz").set_index("phenotype_id")


def test_planted_eqtls_are_found(cohort_mapped):
    out, truth, table = cohort_mapped
    single = truth[truth["signals"] == 1]
    strong = single[single["effect"] == 0.5]["phenotype_id"]
    weak = single[single["effect"] < 0.5]["phenotype_id"]
    null = table.index.difference(truth["phenotype_id"])
    found = table["qval"] <= 0.05
    power_strong, power_weak = found[strong].mean(), found[weak].mean()
    false_rate = found[null].mean()
    lead_near = (np.abs(table.loc[strong, "tss_distance"].to_numpy() + table.loc[strong, "phenotype_tss"].to_numpy()
                        - single.set_index("phenotype_id").loc[strong, "pos"].to_numpy()) <= 20_000).mean()  # fmt: skip
    print(
        f"\npower strong {power_strong:.2f} weak {power_weak:.2f}; false eGene rate {false_rate:.3f}; lead near {lead_near:.2f}"
    )
    assert power_strong > 0.9
    assert false_rate <= 0.05
    assert lead_near > 0.9


def test_null_pval_beta_is_uniform(cohort_mapped):
    _, truth, table = cohort_mapped
    null = table.loc[table.index.difference(truth["phenotype_id"]), "pval_beta"]
    assert ss.kstest(null, "uniform").pvalue > 0.01


def test_same_seed_is_byte_identical_and_chunking_does_not_matter(cohort, tmp_path):
    """Genes 1-42 as chunk 1 of 4 (two worker processes) and as chunks 1-3 of 12 (one each), in separate processes:
    the same bytes. Another seed: other shuffles, the same observed statistics."""
    out, _ = cohort
    args = [*cohort_args(out), "--window", "50000", "--permutations", "20", "200"]
    run_cli("cis_qtl.py", "permutation", *args, "--out", tmp_path / "whole", "--chunk", 1, 4, "--threads", 2)
    parts = []
    for k in (1, 2, 3):
        run_cli("cis_qtl.py", "permutation", *args, "--out", tmp_path / f"part{k}", "--chunk", k, 12)
        parts.append(gzip.decompress((tmp_path / f"part{k}.cis_qtl.txt.gz").read_bytes()).splitlines())
    whole = gzip.decompress((tmp_path / "whole.cis_qtl.txt.gz").read_bytes()).splitlines()
    assert len(whole) == 43
    assert [parts[0][0]] + [line for part in parts for line in part[1:]] == whole
    run_cli("cis_qtl.py", "permutation", *args, "--out", tmp_path / "seed2", "--seed", 2, "--chunk", 1, 12)
    other = outputs.read_table(tmp_path / "seed2.cis_qtl.txt.gz")
    first = outputs.read_table(tmp_path / "part1.cis_qtl.txt.gz")
    assert (other["pval_nominal"] == first["pval_nominal"]).all() and (other["beta_shape2"] != first["beta_shape2"]).all()


def test_nominal_chunks_equal_the_whole(cohort, tmp_path):
    out, _ = cohort
    args = [*cohort_args(out), "--window", "50000"]
    run_cli("cis_qtl.py", "nominal", *args, "--out", tmp_path / "whole", "--chunk", 1, 4, "--threads", 2)
    whole = pd.read_parquet(tmp_path / "whole.cis_qtl_pairs.chr1.parquet")
    parts = []
    for k in (1, 2):
        run_cli("cis_qtl.py", "nominal", *args, "--out", tmp_path / f"part{k}", "--chunk", k, 8)
        parts.append(pd.read_parquet(tmp_path / f"part{k}.cis_qtl_pairs.chr1.parquet"))
    pd.testing.assert_frame_equal(pd.concat(parts, ignore_index=True), whole)
    assert whole.groupby("phenotype_id").size().between(90, 101).all()  # one variant per kb within 50 kb, MAF >= 0.01


def test_store_and_vcf_give_the_same_statistics(cohort, tmp_path):
    out, _ = cohort
    samples = tmp_path / "samples.txt"
    samples.write_text("individual\n" + "\n".join(f"S{i:04d}" for i in range(300)) + "\n")
    run_cli("prepare_genotypes.py", "--vcf", out / "genotypes.vcf.gz", "--samples", samples, "--out", tmp_path / "store")
    args = cohort_args(out)[2:] + ["--window", "50000", "--chunk", "1", "8"]
    run_cli("cis_qtl.py", "nominal", "--genotypes", out / "genotypes.vcf.gz", *args, "--out", tmp_path / "vcf")
    run_cli("cis_qtl.py", "nominal", "--genotypes", tmp_path / "store", *args, "--out", tmp_path / "store")
    a, b = (pd.read_parquet(tmp_path / f"{n}.cis_qtl_pairs.chr1.parquet") for n in ("vcf", "store"))
    pd.testing.assert_frame_equal(a, b)


def test_grouped_permutations_take_the_group_max(cohort, tmp_path):
    """Groups of 2 phenotypes sharing a TSS: the row is the best phenotype of the group, one shuffle for both."""
    out, _ = cohort
    bed = pd.read_csv(out / "phenotypes.bed.gz", sep="\t").iloc[:20]
    twin = bed.copy()
    twin["phenotype_id"] = twin["phenotype_id"] + "_b"
    values = twin.columns[4:]
    twin[values] = twin[values].to_numpy()[:, ::-1] * 0.5 + twin[values].to_numpy()  # correlated second phenotype
    paired = pd.concat([bed, twin]).sort_values(["start", "phenotype_id"], kind="stable")
    paired.to_csv(tmp_path / "paired.bed", sep="\t", index=False, float_format="%.8g")
    groups = tmp_path / "groups.txt"
    groups.write_text("".join(f"{p}\tgrp_{p.split('_')[0]}\n" for p in paired["phenotype_id"]))
    args = ["--genotypes", out / "genotypes.vcf.gz", "--phenotypes", index_bed(tmp_path / "paired.bed"), "--covariates",
            out / "covariates.txt", "--window", "50000", "--permutations", "200"]  # fmt: skip
    run_cli("cis_qtl.py", "permutation", *args, "--groups", groups, "--out", tmp_path / "grouped")
    run_cli("cis_qtl.py", "permutation", *args, "--groups", groups, "--out", tmp_path / "grouped2", "--threads", 2)
    run_cli("cis_qtl.py", "permutation", *args, "--out", tmp_path / "single")
    assert (tmp_path / "grouped.cis_qtl.txt.gz").read_bytes() == (tmp_path / "grouped2.cis_qtl.txt.gz").read_bytes()
    grouped = outputs.read_table(tmp_path / "grouped.cis_qtl.txt.gz")
    single = outputs.read_table(tmp_path / "single.cis_qtl.txt.gz").set_index("phenotype_id")
    assert len(grouped) == 20 and (grouped["group_size"] == 2).all()
    for row in grouped.itertuples():
        members = single.loc[[row.group_id[4:], row.group_id[4:] + "_b"]]
        assert row.pval_nominal == pytest.approx(members["pval_nominal"].min(), rel=1e-9)
        assert row.phenotype_id == members["pval_nominal"].idxmin()
        # one shuffle for the whole group: its max beats each member's, so fewer shuffles exceed the best
        assert row.pval_perm >= members["pval_perm"].min() - 1e-12


def test_independent_signals(cohort_mapped, tmp_path):
    out, truth, _ = cohort_mapped
    run_cli("cis_qtl.py", "independent", *cohort_args(out), "--window", "50000", "--permutations", "1000",
            "--permutation-table", out / "run1.cis_qtl.fdr.txt.gz", "--out", tmp_path / "ind", "--threads", 2)  # fmt: skip
    independent = pd.read_csv(tmp_path / "ind.cis_independent_qtl.txt", sep="\t")
    counts = independent.groupby("phenotype_id").size()
    two = truth.loc[truth["signals"] == 2, "phenotype_id"].unique()
    one = truth.loc[(truth["signals"] == 1) & (truth["effect"] == 0.5), "phenotype_id"]
    print(f"\nsignals found for two-signal genes: {counts.reindex(two).tolist()}")
    assert (counts.reindex(two) == 2).mean() >= 0.8
    assert (counts.reindex(one).dropna() == 1).mean() >= 0.85
    for gene in two:
        if counts.get(gene, 0) == 2:
            positions = (independent.loc[independent["phenotype_id"] == gene, "tss_distance"] + independent.loc[
                independent["phenotype_id"] == gene, "phenotype_tss"]).sort_values().to_numpy()  # fmt: skip
            planted = np.sort(truth.loc[truth["phenotype_id"] == gene, "pos"].to_numpy())
            assert (np.abs(positions - planted) <= 10_000).all()


def test_kernel_benchmark_runs():
    result = benchmark.kernel_benchmark(n_variants=500, n_samples=100, n_perm=200, repeats=1)
    assert result["kernel_gflops"] > 0 and result["matmul_gflops"] > 0


# ---------------------------------------------------------------------------------------------------------------
# CLI: help and bad input
# ---------------------------------------------------------------------------------------------------------------


def test_help():
    proc = run_cli("cis_qtl.py", "--help")
    assert "--permutations" in proc.stdout and "--chunk" in proc.stdout


def bad_run(cohort_dir: Path, tmp_path: Path, capsys, replace: dict | None = None, extra: tuple = ()) -> str:
    """Run a permutation pass (in process) with one input replaced: exit 1, 'ERROR: ...', no output file."""
    import cis_qtl

    from magelib.cli import run

    args = dict(zip(cohort_args(cohort_dir)[::2], cohort_args(cohort_dir)[1::2], strict=True))
    args.update(replace or {})
    argv = ["permutation", *[x for kv in args.items() for x in kv], "--out", tmp_path / "bad", "--permutations", "10",
            "--window", "20000", *extra]  # fmt: skip
    assert run(cis_qtl.main, [str(a) for a in argv]) == 1
    assert not list(tmp_path.glob("bad.*"))
    err = capsys.readouterr().err
    assert err.startswith("ERROR: ") or "\nERROR: " in err
    return err


def write_bed(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, sep="\t", index=False, float_format="%.8g")
    return index_bed(path)


@pytest.fixture(scope="module")
def small_bed(cohort):
    out, _ = cohort
    return pd.read_csv(out / "phenotypes.bed.gz", sep="\t").iloc[:5]


def test_bad_sample_missing_from_vcf(cohort, small_bed, tmp_path, capsys):
    bed = small_bed.rename(columns={"S0007": "NOT_IN_VCF"})
    err = bad_run(cohort[0], tmp_path, capsys, {"--phenotypes": write_bed(bed, tmp_path / "b.bed")})
    assert "NOT_IN_VCF" in err and "genotypes" in err


def test_bad_duplicate_phenotype(cohort, small_bed, tmp_path, capsys):
    bed = small_bed.copy()
    bed.loc[1, "phenotype_id"] = bed.loc[0, "phenotype_id"]
    err = bad_run(cohort[0], tmp_path, capsys, {"--phenotypes": write_bed(bed, tmp_path / "b.bed")})
    assert "duplicate phenotype ID 'G0000'" in err


def test_bad_non_finite_value(cohort, small_bed, tmp_path, capsys):
    bed = small_bed.copy()
    bed.loc[2, "S0011"] = np.inf
    err = bad_run(cohort[0], tmp_path, capsys, {"--phenotypes": write_bed(bed, tmp_path / "b.bed")})
    assert "line 4" in err and "G0002" in err and "S0011" in err


def test_bad_contig_naming(cohort, small_bed, tmp_path, capsys):
    bed = small_bed.assign(**{"#chr": "1"})
    err = bad_run(cohort[0], tmp_path, capsys, {"--phenotypes": write_bed(bed, tmp_path / "b.bed")})
    assert "'1'" in err and "'chr1'" in err and "naming" in err


def test_bad_unsorted_bed(cohort, small_bed, tmp_path, capsys):
    bed = small_bed.iloc[[0, 2, 1, 3, 4]]
    path = tmp_path / "b.bed.gz"
    bed.to_csv(path, sep="\t", index=False, compression="gzip")
    err = bad_run(cohort[0], tmp_path, capsys, {"--phenotypes": path})
    assert "G0001" in err and "not sorted" in err


def test_bad_covariates_missing_sample(cohort, tmp_path, capsys):
    cov = pd.read_csv(cohort[0] / "covariates.txt", sep="\t", index_col=0).drop(columns=["S0100"])
    cov.to_csv(tmp_path / "cov.txt", sep="\t", index_label="id")
    err = bad_run(cohort[0], tmp_path, capsys, {"--covariates": tmp_path / "cov.txt"})
    assert "S0100" in err and "covariates" in err


def test_bad_groups_not_contiguous(cohort, small_bed, tmp_path, capsys):
    groups = tmp_path / "groups.txt"
    groups.write_text("G0000\ta\nG0001\tb\nG0002\ta\nG0003\tc\nG0004\tc\n")
    err = bad_run(
        cohort[0], tmp_path, capsys, {"--phenotypes": write_bed(small_bed, tmp_path / "b.bed")}, extra=("--groups", groups)
    )
    assert "group 'a'" in err and "contiguous" in err


def test_bad_chunk(cohort, tmp_path, capsys):
    err = bad_run(cohort[0], tmp_path, capsys, extra=("--chunk", 3, 2))
    assert "--chunk 3 2" in err
