#!/usr/bin/env python3
"""cis-QTL permutation pass: mage against QTLtools, FastQTL and tensorQTL (CPU) on the same inputs and cores.

Run by hand (not in CI); it prints, it does not assert. For each dataset (the real GEUVADIS chr22 set of Debian
qtltools-example, and/or a seeded MAGE-sized simulated chunk) every peer maps the same inverse-normal phenotypes,
covariates and MAF >= 0.01 variants with the same number of permutations and the same cores. Printed: wall time,
CPU time and peak RSS per tool, ratios against mage, the BLAS numpy uses, the permutation kernel's GFLOP/s against a plain
numpy float32 matmul of the same shape, the projected time of the full MAGE permutation pass, and the agreement
of pval_beta / pval_nominal between tools (a fast-but-wrong result shows there). The last line is
``RATIO qtltools/mage=<x> fastqtl/mage=<y> tensorqtl/mage=<z>`` (wall time, summed over the datasets run).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "bin"))
sys.path.insert(0, str(HERE))

import simulate_cis  # noqa: E402

from magelib import cli  # noqa: E402
from magelib.io.atomic import atomic_open, atomic_path  # noqa: E402
from magelib.io.tables import check_unique, read_covariates, write_covariates  # noqa: E402
from magelib.io.tools import tabix  # noqa: E402
from magelib.phenotypes.normalize import inverse_normal_transform  # noqa: E402
from magelib.qtl.qvalue import qvalue  # noqa: E402

PEERS = ("qtltools", "fastqtl", "tensorqtl", "mage", "mage_store")
GEUVADIS_COPY = Path("/work/shared/data/qtltools-example_geuvadis-chr22")
GEUVADIS_DEB = Path("/usr/share/doc/qtltools/examples/examples.tar.xz")
GEUVADIS_FILES = ("genotypes.chr22.vcf.gz", "genes.50percent.chr22.bed.gz", "genes.covariates.pc50.txt.gz")
TENSORQTL_PYTHON = HERE / ".venv-tensorqtl" / "bin" / "python"
# The full MAGE permutation pass the projection is for (mage_methods.md section 2.18).
MAGE_SAMPLES, MAGE_GENES, MAGE_CIS_VARIANTS = 731, 20_000, 7_000
ADAPTIVE_HITS, ADAPTIVE_MAX = 1000, 10_000
COMMON_COLUMNS = ["num_var", "variant_id", "tss_distance", "pval_nominal", "pval_perm", "pval_beta"]
# tensorQTL's name for the top variant's position relative to the TSS (variant - TSS)
DISTANCE_COLUMNS = {"start_distance": "tss_distance"}


# ---------------------------------------------------------------- inputs


@dataclass
class Dataset:
    """One set of inputs, prepared once and shared by every peer."""

    name: str
    vcf: Path
    bed: Path  # 4 leading columns: FastQTL, tensorQTL, mage
    bed6: Path  # 6 leading columns (pid gid strand): QTLtools 1.3
    covariates: Path
    n_samples: int
    n_genes: int
    n_covariates: int
    n_variants: int
    prep_seconds: dict[str, float] = field(default_factory=dict)
    truth: Path | None = None  # planted effects (simulated data only)


def sh(cmd: list[str], **kwargs) -> None:
    subprocess.run(cmd, check=True, **kwargs)


def write_beds(positions: pd.DataFrame, values: pd.DataFrame, bed: Path, bed6: Path) -> None:
    """The same phenotypes as a 4-column BED and as QTLtools' 6-column BED (gid = pid)."""
    meta = positions[["#chr", "start", "end", "phenotype_id"]].reset_index(drop=True)
    simulate_cis.write_bed(pd.concat([meta, values.reset_index(drop=True)], axis=1), bed)
    meta6 = meta.assign(gid=meta["phenotype_id"], strand=positions["strand"].to_numpy())
    simulate_cis.write_bed(pd.concat([meta6, values.reset_index(drop=True)], axis=1), bed6)


def maf_filtered_vcf(source: Path, dest: Path, threads: int) -> None:
    """MAF >= 0.01 before anything reads it, so QTLtools (no MAF option) sees the same variants as the others."""
    if dest.exists():
        return
    with atomic_path(dest) as tmp:
        sh(["bcftools", "view", "-q", "0.01:minor", "-Oz", "-o", str(tmp), "--threads", str(threads), str(source)])
    tabix(dest, preset="vcf")


def count_variants(vcf: Path) -> int:
    out = subprocess.run(["bcftools", "index", "-n", str(vcf)], check=True, capture_output=True, text=True).stdout
    return int(out.strip())


def geuvadis_sources(workdir: Path) -> Path:
    """The shared copy if present, else the three files unpacked from Debian's qtltools-example tarball."""
    if all((GEUVADIS_COPY / f).exists() for f in GEUVADIS_FILES):
        return GEUVADIS_COPY
    if not GEUVADIS_DEB.exists():
        raise cli.InputError(f"GEUVADIS data not found: neither {GEUVADIS_COPY} nor {GEUVADIS_DEB} (install qtltools-example)")
    dest = workdir / "geuvadis_src"
    if not all((dest / f).exists() for f in GEUVADIS_FILES):
        dest.mkdir(parents=True, exist_ok=True)
        sh(["tar", "-xJf", str(GEUVADIS_DEB), "-C", str(dest), *[f"./{f}" for f in GEUVADIS_FILES]])
    return dest


def prepare_geuvadis(workdir: Path, n_genes: int | None, threads: int) -> Dataset:
    """358 GEUVADIS samples, chr22: inverse-normal expression, 53 covariates renamed to short IDs, MAF-filtered VCF."""
    src = geuvadis_sources(workdir)
    out = workdir / f"geuvadis_g{n_genes or 'all'}"
    out.mkdir(parents=True, exist_ok=True)
    vcf = workdir / "geuvadis.maf01.vcf.gz"
    maf_filtered_vcf(src / GEUVADIS_FILES[0], vcf, threads)
    table = pd.read_csv(src / GEUVADIS_FILES[1], sep="\t", dtype={"#chr": str}).rename(columns={"gene": "phenotype_id"})
    table = table.head(n_genes) if n_genes else table
    values = table.iloc[:, 6:]
    normalised = pd.DataFrame(inverse_normal_transform(values.to_numpy(dtype=float)), columns=values.columns)
    bed, bed6 = out / "phenotypes.bed.gz", out / "phenotypes.qtltools.bed.gz"
    if not bed6.exists():
        write_beds(table, normalised, bed, bed6)
    covariates = read_covariates(src / GEUVADIS_FILES[2])
    covariates.index = [name.rsplit("/", 1)[-1] for name in covariates.index]
    check_unique(covariates.index, "covariate", str(src / GEUVADIS_FILES[2]))
    cov_path = out / "covariates.txt"
    write_covariates(covariates[values.columns], cov_path)
    return Dataset("geuvadis", vcf, bed, bed6, cov_path, values.shape[1], len(table), len(covariates), count_variants(vcf))


def prepare_mage_sim(workdir: Path, n_genes: int | None, seed: int) -> Dataset:
    """The seeded MAGE-sized chunk (simulate_cis.py), simulated once and reused; --genes takes the first N genes."""
    spec = simulate_cis.SimSpec(seed=seed)
    sim = workdir / spec.tag()
    done = sim / ".done"
    prep = {}
    if not done.exists():
        start = time.perf_counter()
        simulate_cis.simulate(spec, sim)
        prep["simulate"] = time.perf_counter() - start
        done.touch()
    out = workdir / f"{spec.tag()}_g{n_genes or 'all'}"
    out.mkdir(parents=True, exist_ok=True)
    table = pd.read_csv(sim / "phenotypes.bed.gz", sep="\t", dtype={"#chr": str})
    table = table.head(n_genes) if n_genes else table
    values = table.iloc[:, 4:]
    bed, bed6 = out / "phenotypes.bed.gz", out / "phenotypes.qtltools.bed.gz"
    if not bed6.exists():
        write_beds(table.iloc[:, :4].assign(strand="+"), values, bed, bed6)
    covariates = read_covariates(sim / "covariates.txt")
    vcf = sim / "genotypes.vcf.gz"
    shape = {
        "n_samples": values.shape[1],
        "n_genes": len(table),
        "n_covariates": len(covariates),
        "n_variants": count_variants(vcf),
    }
    return Dataset("mage_sim", vcf, bed, bed6, sim / "covariates.txt", **shape, prep_seconds=prep, truth=sim / "truth.tsv")


# ---------------------------------------------------------------- running


@dataclass
class Run:
    tool: str
    wall: float = float("nan")
    rss_bytes: int = 0
    cpu: float = float("nan")
    table: pd.DataFrame | None = None
    note: str = ""

    def save(self, run_dir: Path) -> None:
        """Keep the measurement so a later call can --reuse it (e.g. re-run only the mage arm)."""
        record = {"wall": self.wall, "rss_bytes": self.rss_bytes, "cpu": self.cpu, "note": self.note}
        with atomic_open(run_dir / f"{self.tool}.result.json") as handle:
            json.dump(record, handle)
        with atomic_path(run_dir / f"{self.tool}.table.tsv") as tmp:
            self.table.to_csv(tmp, sep="\t", index_label="phenotype_id")

    @classmethod
    def load(cls, tool: str, run_dir: Path) -> Run | None:
        record, table = run_dir / f"{tool}.result.json", run_dir / f"{tool}.table.tsv"
        if not (record.exists() and table.exists()):
            return None
        saved = json.loads(record.read_text())
        note = "reused; " + saved["note"]
        table = pd.read_csv(table, sep="\t", index_col="phenotype_id")
        return cls(tool, saved["wall"], saved["rss_bytes"], saved.get("cpu", float("nan")), table, note)


def timed(commands: list[list[str]], logs: list[Path], env: dict | None = None) -> tuple[float, int, float]:
    """Start the commands together, wait for all; return (wall seconds, summed peak RSS in bytes, summed CPU seconds).

    os.wait4 gives each child's own rusage (ru_maxrss in KiB on Linux), so concurrent chunks add up. CPU time
    (user + system) is much less sensitive than wall time to other work on the machine.
    """
    start = time.perf_counter()
    handles = [open(log, "w") for log in logs]
    procs = [subprocess.Popen(cmd, stdout=h, stderr=subprocess.STDOUT, env=env) for cmd, h in zip(commands, handles, strict=True)]
    rss, cpu, failed = 0, 0.0, []
    for proc, log in zip(procs, logs, strict=True):
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        rss += usage.ru_maxrss * 1024
        cpu += usage.ru_utime + usage.ru_stime
        if proc.returncode != 0:
            failed.append(f"exit {proc.returncode}, see {log}")
    wall = time.perf_counter() - start
    for h in handles:
        h.close()
    if failed:
        raise RuntimeError("; ".join(failed))
    return wall, rss, cpu


def run_qtltools(ds: Dataset, out: Path, args) -> Run:
    """QTLtools 1.3 is single-threaded: one process per core, each on a chunk of the phenotypes."""
    n = args.threads
    parts = [out / f"qtltools.chunk{k}.txt" for k in range(1, n + 1)]
    cmds = [
        ["QTLtools", "cis", "--vcf", str(ds.vcf), "--bed", str(ds.bed6), "--cov", str(ds.covariates),
         "--permute", str(args.permutations), "--window", str(args.window), "--seed", str(args.seed),
         "--chunk", str(k), str(n), "--out", str(part)]
        for k, part in enumerate(parts, 1)
    ]  # fmt: skip
    wall, rss, cpu = timed(cmds, [p.with_suffix(".log") for p in parts])
    # QTLtools 1.3 permutation columns (no header): see https://qtltools.github.io/qtltools/ (cis, permutation pass)
    names = ["phenotype_id", "chr", "start", "end", "strand", "num_var", "distance", "variant_id", "var_chr", "var_start",
             "var_end", "dof1", "true_df", "beta_shape1", "beta_shape2", "pval_nominal", "r_squared", "slope", "pval_perm",
             "pval_beta"]  # fmt: skip
    table = pd.concat([read_headerless(p, names, sep=r"\s+") for p in parts if p.stat().st_size])
    # QTLtools' distance is strand-aware; the others' is variant - TSS (start is the 1-based TSS here)
    table["tss_distance"] = table["var_start"] - table["start"]
    return Run("qtltools", wall, rss, cpu, table.set_index("phenotype_id"))


def read_headerless(path: Path, names: list[str], sep: str) -> pd.DataFrame:
    """A peer's header-less table; a column count other than the documented one fails instead of shifting columns."""
    table = pd.read_csv(path, sep=sep, header=None)
    if table.shape[1] != len(names):
        raise RuntimeError(f"{path}: {table.shape[1]} columns, expected {len(names)} ({' '.join(names)})")
    table.columns = names
    return table


def run_fastqtl(ds: Dataset, out: Path, args) -> Run:
    """FastQTL (GTEx fork, Debian) is single-threaded: one process per core with --chunk k n."""
    n = args.threads
    parts = [out / f"fastqtl.chunk{k}.txt.gz" for k in range(1, n + 1)]
    cmds = [
        ["fastQTL", "--vcf", str(ds.vcf), "--bed", str(ds.bed), "--cov", str(ds.covariates), "--permute", str(args.permutations),
         "--window", str(args.window), "--maf-threshold", str(args.maf), "--seed", str(args.seed), "--chunk", str(k), str(n),
         "--out", str(part), "--log", str(part.with_suffix(".fastqtl.log"))]
        for k, part in enumerate(parts, 1)
    ]  # fmt: skip
    wall, rss, cpu = timed(cmds, [p.with_suffix(".log") for p in parts])
    # GTEx-fork permutation columns (no header), as run_FastQTL_threaded.py names them
    names = ["phenotype_id", "num_var", "beta_shape1", "beta_shape2", "true_df", "pval_true_df", "variant_id",
             "tss_distance", "ma_samples", "ma_count", "maf", "ref_factor", "pval_nominal", "slope", "slope_se", "pval_perm",
             "pval_beta"]  # fmt: skip
    table = pd.concat([read_headerless(p, names, sep="\t") for p in parts if p.stat().st_size > 20])
    return Run("fastqtl", wall, rss, cpu, table.set_index("phenotype_id"))


def plink_prefix(ds: Dataset, args) -> Path:
    """tensorQTL reads PLINK 2 pgen; the conversion is timed once and reported as preparation, not as mapping."""
    prefix = ds.vcf.parent / (ds.vcf.name.removesuffix(".vcf.gz") + ".plink2")
    if not prefix.with_suffix(".pgen").exists():
        start = time.perf_counter()
        sh(["plink2", "--vcf", str(ds.vcf), "--make-pgen", "--output-chr", "chrM", "--threads", str(args.threads),
            "--out", str(prefix)], stdout=subprocess.DEVNULL)  # fmt: skip
        ds.prep_seconds["plink2 VCF->pgen (tensorQTL)"] = time.perf_counter() - start
    return prefix


def thread_env(threads: int, **extra) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    env.update(extra)
    return env


def run_tensorqtl(ds: Dataset, out: Path, args) -> Run:
    if not Path(args.tensorqtl_python).exists():
        return Run("tensorqtl", note=f"skipped: {args.tensorqtl_python} missing (run benchmarks/setup_tensorqtl.sh)")
    prefix = plink_prefix(ds, args)
    result = out / "tensorqtl.tsv"
    cmd = [str(args.tensorqtl_python), str(HERE / "run_tensorqtl.py"), "--plink", str(prefix), "--bed", str(ds.bed),
           "--covariates", str(ds.covariates), "--permutations", str(args.permutations), "--window", str(args.window),
           "--maf", str(args.maf), "--seed", str(args.seed), "--threads", str(args.threads), "--out", str(result)]  # fmt: skip
    env = thread_env(args.threads, PYTHONNOUSERSITE="1")
    env.pop("PYTHONPATH", None)
    log = out / "tensorqtl.log"
    wall, rss, cpu = timed([cmd], [log], env=env)
    table = pd.read_csv(result, sep="\t", index_col="phenotype_id")
    inner = [line.split("\t")[1] for line in log.read_text().splitlines() if line.startswith("map_cis_seconds")]
    return Run("tensorqtl", wall, rss, cpu, table, note=f"map_cis alone {float(inner[0]):.1f} s (rest: load)" if inner else "")


def genotype_store(ds: Dataset, args) -> Path:
    """mage's genotype store (prepare_genotypes.py), as the pipeline builds once per genome and every chunk reuses;
    timed once and reported as preparation, like tensorQTL's pgen."""
    store = ds.vcf.parent / (ds.vcf.name.removesuffix(".vcf.gz") + ".store")
    if not (store / "manifest.json").exists():
        samples = store.with_suffix(".samples.txt")
        header = pd.read_csv(ds.bed, sep="\t", nrows=0).columns[4:]
        with atomic_open(samples) as handle:
            handle.write("\n".join(header) + "\n")
        start = time.perf_counter()
        sh([sys.executable, str(REPO / "bin" / "prepare_genotypes.py"), "--vcf", str(ds.vcf), "--samples", str(samples),
            "--out", str(store), "--maf", str(args.maf), "--threads", str(args.threads)], stdout=subprocess.DEVNULL)  # fmt: skip
        ds.prep_seconds["prepare_genotypes.py VCF->store (mage)"] = time.perf_counter() - start
    return store


def run_mage(ds: Dataset, out: Path, args, from_store: bool = False) -> Run:
    """mage reading the VCF like QTLtools and FastQTL, or its genotype store (from_store: the 'mage_store' arm)."""
    tool = "mage_store" if from_store else "mage"
    engine = REPO / "bin" / "cis_qtl.py"
    if not engine.exists():
        return Run(tool, note=f"skipped: {engine} not there yet")
    genotypes = genotype_store(ds, args) if from_store else ds.vcf
    prefix = out / tool
    cmd = [sys.executable, str(engine), "permutation", "--genotypes", str(genotypes), "--phenotypes", str(ds.bed),
           "--covariates", str(ds.covariates), "--out", str(prefix), "--window", str(args.window), "--maf", str(args.maf),
           "--permutations", str(args.permutations), "--seed", str(args.seed), "--threads", str(args.threads)]  # fmt: skip
    wall, rss, cpu = timed([cmd], [out / f"{tool}.log"], env=thread_env(args.threads))
    twins = re.search(r"(\d+) distinct genotype rows for (\d+) cis variants", (out / f"{tool}.log").read_text())
    note = f"kernel rows {int(twins[1]) / int(twins[2]):.0%} of cis variants (twins collapsed)" if twins else ""
    return Run(tool, wall, rss, cpu, read_mage_table(prefix), note=note)


def read_mage_table(prefix: Path) -> pd.DataFrame:
    """The permutation table cis_qtl.py writes for --out PREFIX."""
    return pd.read_csv(f"{prefix}.cis_qtl.txt.gz", sep="\t", index_col="phenotype_id", na_values=["NA"], keep_default_na=False)


RUNNERS = {
    "qtltools": run_qtltools,
    "fastqtl": run_fastqtl,
    "tensorqtl": run_tensorqtl,
    "mage": run_mage,
    "mage_store": lambda ds, out, args: run_mage(ds, out, args, from_store=True),
}


def run_peer(tool: str, ds: Dataset, out: Path, args) -> Run:
    """Run one peer (or load its saved result with --reuse); the load average around the run goes into the note."""
    if tool in args.reuse:
        saved = Run.load(tool, out)
        if saved is not None:
            return saved
    print(f"  running {tool} ...", flush=True)
    load_before = os.getloadavg()[0]
    try:
        run = RUNNERS[tool](ds, out, args)
    except (RuntimeError, subprocess.CalledProcessError, FileNotFoundError, pd.errors.ParserError) as err:
        return Run(tool, note=f"FAILED: {err}")
    if run.table is None:
        return run
    run.table = run.table.rename(columns=DISTANCE_COLUMNS)
    run.table = run.table[[c for c in COMMON_COLUMNS if c in run.table.columns]]
    run.note = f"load {load_before:.1f}->{os.getloadavg()[0]:.1f}" + (f"; {run.note}" if run.note else "")
    run.save(out)
    return run


# ---------------------------------------------------------------- reporting


def blas_info() -> str:
    config = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    detail = config.get("openblas configuration", "").strip()
    return f"numpy {np.__version__}: {config.get('name')} {config.get('version')} ({detail})"


MATMUL_PROBE = """
import sys, time
import numpy as np
v, n, p, repeats = map(int, sys.argv[1:])
rng = np.random.default_rng(0)
g = rng.standard_normal((v, n), dtype=np.float32)
y = rng.standard_normal((n, p), dtype=np.float32)
g @ y  # warm-up: thread pool start, page faults
best = float("inf")
for _ in range(repeats):
    t = time.perf_counter()
    g @ y
    best = min(best, time.perf_counter() - t)
print(2 * v * n * p / best / 1e9)
"""


def matmul_gflops(n_variants: int, n_samples: int, n_perm: int, threads: int, repeats: int = 5) -> float:
    """Best-of-N GFLOP/s of a float32 (variants x samples) @ (samples x permutations) product, the kernel's shape.

    Run in a child so BLAS gets exactly the cores the tools got.
    """
    cmd = [sys.executable, "-c", MATMUL_PROBE, str(n_variants), str(n_samples), str(n_perm), str(repeats)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=thread_env(threads)).stdout
    return float(out.strip())


def kernel_flops(table: pd.DataFrame, n_samples: int, n_perm: int) -> float:
    """Permutation-kernel FLOPs: per gene, cis variants x samples x permutations x 2 (one multiply-add each)."""
    return 2.0 * float(table["num_var"].sum()) * n_samples * n_perm


def adaptive_permutations(pvals: pd.Series) -> float:
    """Mean permutations per gene under the adaptive rule (stop at 1000 better hits or 10,000 permutations).

    A gene with exceedance probability p reaches 1000 hits after ~1000 / p permutations; p is estimated by pval_beta.
    """
    p = pvals.dropna().clip(lower=1e-300)
    return float(np.minimum(ADAPTIVE_MAX, ADAPTIVE_HITS / p).mean())


def fmt_seconds(s: float) -> str:
    if not np.isfinite(s):
        return "NA"
    return f"{s:.1f} s" if s < 3600 else f"{s / 3600:.1f} h"


def agreement(runs: dict[str, Run], reference: str = "mage") -> list[str]:
    lines = []
    ref = runs.get(reference)
    if ref is None or ref.table is None:
        return ["  (no mage table: no agreement check)"]
    for tool, run in runs.items():
        if tool == reference or run.table is None:
            continue
        common = ref.table.index.intersection(run.table.index)
        parts = [f"{len(common)} genes"]
        for col in ("pval_beta", "pval_nominal"):
            pair = pd.concat([ref.table.loc[common, col], run.table.loc[common, col]], axis=1).dropna()
            if len(pair) > 2:
                rho = stats.spearmanr(pair.iloc[:, 0], pair.iloc[:, 1]).statistic
                # a rank correlation misses a uniform scale error: the median log ratio shows it
                shift = np.median(np.log10(pair.iloc[:, 0].clip(lower=1e-300) / pair.iloc[:, 1].clip(lower=1e-300)))
                parts.append(f"{col} Spearman {rho:.4f}, median log10 ratio {shift:+.3f}")
        # by position (distance to the same TSS): variant IDs differ between a VCF and mage's store (chr_pos_ref_alt)
        same = ref.table.loc[common, "tss_distance"] == run.table.loc[common, "tss_distance"]
        # a different top variant with the same nominal p-value is a tie (variants in perfect LD), broken differently
        tied = ~same & np.isclose(ref.table.loc[common, "pval_nominal"], run.table.loc[common, "pval_nominal"], rtol=1e-4, atol=0)
        parts.append(f"same top variant {same.mean():.1%} (+ {tied.mean():.1%} ties with equal p broken differently)")
        lines.append(f"  mage vs {tool}: " + ", ".join(parts))
    lines.append("  eGenes at Storey q <= 0.05 (R qvalue defaults on each tool's pval_beta): " + ", ".join(
        f"{tool} {egenes(run.table)}" for tool, run in runs.items() if run.table is not None))  # fmt: skip
    return lines


def egenes(table: pd.DataFrame) -> int:
    p = table["pval_beta"].dropna().clip(upper=1.0).to_numpy()
    return int((qvalue(p)[0] <= 0.05).sum()) if len(p) else 0


def planted_recovery(truth_path: Path, runs: dict[str, Run]) -> list[str]:
    """Simulated data: how often each tool calls planted eGenes (power) and null genes (should be ~5 %) at pval_beta < 0.05."""
    truth = pd.read_csv(truth_path, sep="\t", index_col="phenotype_id", keep_default_na=False)
    lines = ["  planted effects (pval_beta < 0.05; null genes should come out near 5 %):"]
    for tool, run in runs.items():
        if run.table is None:
            continue
        table = run.table.join(truth, how="inner")
        planted = table["h2"] > 0
        called = table["pval_beta"] < 0.05
        top_causal = (table.loc[planted, "variant_id"].astype(str) == table.loc[planted, "causal_variant"]).mean()
        power, false_calls = called[planted].mean(), called[~planted].mean()
        lines.append(f"    {tool:<10} planted {power:6.1%} of {planted.sum()}, null {false_calls:6.1%} of {(~planted).sum()}, "
                     f"top variant = causal in {top_causal:.1%} of planted")  # fmt: skip
    return lines


def report_dataset(ds: Dataset, runs: dict[str, Run], args) -> None:
    print(f"\n== {ds.name}: {ds.n_samples} samples, {ds.n_genes} genes, {ds.n_variants} variants (MAF >= {args.maf}), "
          f"{ds.n_covariates} covariates, {args.permutations} permutations, {args.threads} cores")  # fmt: skip
    for step, seconds in ds.prep_seconds.items():
        print(f"  preparation: {step} {seconds:.1f} s")
    mage = runs.get("mage", Run("mage"))
    print(f"  {'tool':<10} {'wall':>9} {'CPU':>9} {'peak RSS':>9} {'wall/mage':>9} {'CPU/mage':>9}  note")
    for tool, run in runs.items():
        rss = f"{run.rss_bytes / 2**30:.2f} GiB" if run.rss_bytes else "NA"
        print(f"  {tool:<10} {fmt_seconds(run.wall):>9} {fmt_seconds(run.cpu):>9} {rss:>9} {run.wall / mage.wall:>9.2f} "
              f"{run.cpu / mage.cpu:>9.2f}  {run.note}")  # fmt: skip
    print("  agreement (same inputs; permutation p-values differ by Monte Carlo noise, nominal p-values should not):")
    for line in agreement(runs):
        print(line)
    if ds.truth is not None:
        for line in planted_recovery(ds.truth, runs):
            print(line)
    report_kernel(ds, runs, args)


def report_kernel(ds: Dataset, runs: dict[str, Run], args) -> None:
    """Effective GFLOP/s of each tool's whole pass against numpy's float32 matmul of the kernel's shape."""
    tables = [r.table for r in runs.values() if r.table is not None and "num_var" in r.table.columns]
    if not tables:
        return
    num_var = tables[0]["num_var"]
    flops = kernel_flops(tables[0], ds.n_samples, args.permutations)
    reference = matmul_gflops(int(num_var.median()), ds.n_samples, args.permutations, args.threads)
    print(f"  permutation kernel: {flops / 1e9:.0f} GFLOP in all (median {int(num_var.median())} cis variants x "
          f"{ds.n_samples} samples x {args.permutations} permutations x 2 per gene)")  # fmt: skip
    print(f"  numpy float32 matmul of that shape: {reference:.1f} GFLOP/s, i.e. {flops / reference / 1e9:.1f} s for all genes")
    for tool, run in runs.items():
        if np.isfinite(run.wall):
            rate = flops / run.wall / 1e9
            print(f"  {tool:<10} whole pass at {rate:.1f} GFLOP/s effective ({100 * rate / reference:.0f} % of the matmul rate)")
    mage_kernel = kernel_benchmark_line(ds, int(num_var.median()), args)
    if mage_kernel:
        print(mage_kernel)


KERNEL_PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from magelib.qtl.benchmark import kernel_benchmark
print(json.dumps(kernel_benchmark(n_variants=int(sys.argv[2]), n_samples=int(sys.argv[3]), n_perm=int(sys.argv[4]))))
"""


def kernel_benchmark_line(ds: Dataset, n_variants: int, args) -> str:
    """mage's own kernel micro-benchmark (magelib.qtl.benchmark.kernel_benchmark), in a child with the tools' core count."""
    if not (REPO / "bin" / "magelib" / "qtl" / "benchmark.py").exists():
        return ""
    cmd = [sys.executable, "-c", KERNEL_PROBE, str(REPO / "bin"), str(n_variants), str(ds.n_samples), str(args.permutations)]
    try:
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=thread_env(args.threads)).stdout
        result = json.loads(out.strip().splitlines()[-1])
    except (subprocess.CalledProcessError, json.JSONDecodeError, IndexError) as err:
        return f"  mage kernel_benchmark failed: {err}"
    return (f"  mage permutation kernel alone (gather + covariate projection + GEMM + column max), same shape: "
            f"{result['kernel_gflops']:.1f} GFLOP/s vs its plain float32 matmul {result['matmul_gflops']:.1f} GFLOP/s "
            f"({100 * result['kernel_gflops'] / result['matmul_gflops']:.0f} %)")  # fmt: skip


def adaptive_source(results: list[tuple[Dataset, dict[str, Run]]]) -> tuple[pd.Series | None, str]:
    """pval_beta of the real data (mage's if it ran, else a peer's) to estimate the adaptive permutation count."""
    for ds, runs in results:
        for tool in ("mage", "fastqtl", "tensorqtl", "qtltools"):
            if ds.name == "geuvadis" and tool in runs and runs[tool].table is not None:
                return runs[tool].table["pval_beta"], f"{tool} pval_beta on GEUVADIS chr22"
    return None, "no GEUVADIS run, so the maximum"


def report_projection(results: list[tuple[Dataset, dict[str, Run]]], args) -> None:
    """Full MAGE pass from each tool's measured cost per (cis variant x sample x permutation), everything included."""
    pvals, source = adaptive_source(results)
    perms = adaptive_permutations(pvals) if pvals is not None else float(ADAPTIVE_MAX)
    work = float(MAGE_GENES) * MAGE_CIS_VARIANTS * MAGE_SAMPLES
    print(f"\n== projection: full MAGE permutation pass ({MAGE_SAMPLES} samples, {MAGE_GENES} genes x ~{MAGE_CIS_VARIANTS} cis "
          f"variants; adaptive, {ADAPTIVE_HITS} hits or {ADAPTIVE_MAX} permutations: mean {perms:.0f} per gene from {source}); "
          f"cost taken as linear in variants x samples x permutations")  # fmt: skip
    for ds, runs in results:
        for tool, run in runs.items():
            if run.table is None or not np.isfinite(run.wall):
                continue
            units = float(run.table["num_var"].sum()) * ds.n_samples * args.permutations
            wall, worst = run.wall / units * work * perms, run.wall / units * work * ADAPTIVE_MAX
            cpu = f"; {run.cpu / units * work * perms / 3600:,.0f} CPU-hours" if np.isfinite(run.cpu) else ""
            print(f"  from {ds.name:<9} {tool:<10} {fmt_seconds(wall):>8} on {args.threads} cores "
                  f"({fmt_seconds(worst)} if every gene took {ADAPTIVE_MAX}){cpu}")  # fmt: skip


def ratio_line(results: list[tuple[Dataset, dict[str, Run]]], reference: str = "mage") -> str:
    """Peer / reference wall-time ratios, walls summed over the datasets run (labelled 'mage' for either arm)."""

    def total(tool: str) -> float:
        walls = [runs[tool].wall for _, runs in results if tool in runs]
        return float(np.sum(walls)) if walls else float("nan")

    parts = []
    for tool in ("qtltools", "fastqtl", "tensorqtl"):
        ratio = total(tool) / total(reference)
        parts.append(f"{tool}/mage={ratio:.2f}" if np.isfinite(ratio) else f"{tool}/mage=NA")
    return "RATIO " + " ".join(parts)


# ---------------------------------------------------------------- main


def parse_args(argv=None) -> argparse.Namespace:
    p = cli.parser(__doc__.splitlines()[0])
    p.add_argument("--data", choices=["geuvadis", "mage_sim", "both"], default="both")
    p.add_argument("--permutations", type=int, default=1000, help="fixed permutation count, the same for every tool")
    p.add_argument("--peers", default=",".join(PEERS), help="comma-separated subset of " + ",".join(PEERS))
    p.add_argument("--genes", type=int, default=None, help="map only the first N genes of each dataset (a quick run)")
    p.add_argument("--out", type=Path, default=HERE / "out", help="working directory (inputs are cached under OUT/data)")
    p.add_argument("--threads", type=int, default=2, help="cores given to every tool")
    p.add_argument("--window", type=int, default=1_000_000)
    p.add_argument("--maf", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--tensorqtl-python", default=str(TENSORQTL_PYTHON), help="python of tensorQTL's virtualenv")
    p.add_argument("--reuse", default="", help="peers whose saved result in the same --out is loaded instead of re-run")
    args = p.parse_args(argv)
    args.peers = [t.strip() for t in args.peers.split(",") if t.strip()]
    args.reuse = [t.strip() for t in args.reuse.split(",") if t.strip()]
    unknown = set(args.peers + args.reuse) - set(PEERS)
    if unknown:
        p.error(f"unknown peer(s): {', '.join(sorted(unknown))}")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    data_dir = args.out / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    names = ["geuvadis", "mage_sim"] if args.data == "both" else [args.data]
    print(f"cis-QTL peers: {', '.join(args.peers)}; {args.permutations} permutations; {args.threads} cores")
    print(f"load average before: {os.getloadavg()[0]:.2f} (other work on the machine inflates wall times)")
    print(f"BLAS: {blas_info()}")
    results = []
    for name in names:
        print(f"\npreparing {name} ...", flush=True)
        if name == "geuvadis":
            ds = prepare_geuvadis(data_dir, args.genes, args.threads)
        else:
            ds = prepare_mage_sim(data_dir, args.genes, args.seed)
        run_dir = args.out / f"{ds.name}_g{args.genes or 'all'}_p{args.permutations}"
        run_dir.mkdir(parents=True, exist_ok=True)
        runs = {tool: run_peer(tool, ds, run_dir, args) for tool in args.peers}
        report_dataset(ds, runs, args)
        results.append((ds, runs))
    report_projection(results, args)
    print(f"\nload average after the runs: {os.getloadavg()[0]:.2f} (other work on the machine inflates wall times)")
    # the last line is for mage as the pipeline runs it (on its genotype store, built once per genome) when that ran
    arms = [arm for arm in ("mage", "mage_store") if arm in args.peers]
    for arm in arms:
        how = "on its genotype store (the pipeline's path; store build not counted)" if arm == "mage_store" else "reading the VCF"
        print(f"ratios to mage {how}: {ratio_line(results, arm)}")
    print(ratio_line(results, arms[-1] if arms else "mage"))


if __name__ == "__main__":
    sys.exit(cli.run(main))
