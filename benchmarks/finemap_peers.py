#!/usr/bin/env python3
"""SuSiE fine-mapping: mage against susieR (susie_rss as MAGE ran it, and susie) and tensorQTL (CPU) on the same genes.

Run by hand (not in CI); it prints, it does not assert. On the real GEUVADIS chr22 set of Debian qtltools-example
(358 samples), each selected eGene's inputs are built once, exactly as ``tests/test_susie.py::load_gene`` does
(inverse-normal y, MAF >= 0.01 variants within +-1 Mb of the TSS, y and X residualised on [1, covariates] by OLS,
z = OLS t with df = n - 2 - k, R = corr(X)), written to disk, and every arm fine-maps the same numbers with L = 10:

- ``mage``: ``magelib.finemap.susie.susie(X, y)`` (individual level, the pipeline's default mode);
- ``mage_rss``: ``magelib.finemap.susie.susie_rss(z, R, n, estimate_residual_variance=True)``;
- ``susieR_rss_mage``: R ``susieR::susie_rss`` with MAGE's arguments (mage_methods.md section 2.20);
- ``susieR_susie``: R ``susieR::susie(X, y, L = 10)``;
- ``tensorqtl``: tensorQTL's torch SuSiE (``tensorqtl.susie.susie``, the fit ``susie.map`` runs per phenotype), in its
  own virtualenv (benchmarks/setup_tensorqtl.sh), skipped if that is absent.

Each arm runs in its own child process over all genes (its peak RSS from ``os.wait4``), timing each fit inside the
child (input reading excluded; R with ``system.time``) and reporting its start-up (interpreter + library load)
separately. Printed: a table per gene (min marginal p, variants, seconds per arm, max |PIP - susieR|), mean seconds
per gene, start-up and peak RSS per arm, the max PIP differences, the issue's targets, and last
``RATIO susieR_rss_mage/mage=<x> susieR_susie/mage=<y> tensorqtl/mage=<z>`` (mean fit wall time per gene).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "bin"))
sys.path.insert(0, str(HERE))

from magelib import __version__ as MAGE_VERSION  # noqa: E402
from magelib import cli  # noqa: E402
from magelib.finemap.susie import susie, susie_rss  # noqa: E402

# pandas, scipy, cyvcf2 and cis_peers are imported where the inputs are built, so that the mage arms' child
# processes (which run this file with --child) do not carry them in their peak RSS.

ARMS = ("mage", "mage_rss", "susieR_rss_mage", "susieR_susie", "tensorqtl")
L_EFFECTS = 10
BED_FILE, COV_FILE, VCF_FILE = "genes.50percent.chr22.bed.gz", "genes.covariates.pc50.txt.gz", "genotypes.chr22.vcf.gz"
TENSORQTL_PYTHON = HERE / ".venv-tensorqtl" / "bin" / "python"
GNU_TIME = "/usr/bin/time"  # Debian package time
# (arm, reference): the same mode of susieR, mage's pipeline mode against MAGE's call, tensorQTL, and R against itself
COMPARISONS = (
    ("mage", "susieR_susie"),
    ("mage_rss", "susieR_rss_mage"),
    ("mage", "susieR_rss_mage"),
    ("tensorqtl", "susieR_susie"),
    ("susieR_susie", "susieR_rss_mage"),
)
PIP_TOLERANCE = 1e-6
RSS_SPEEDUP_TARGET = 30.0

# One arm over every gene of genes.txt: Rscript finemap_peers.R ARM WORKDIR LAUNCHED SEED. The fit alone is timed
# (system.time runs gc() before starting the clock); load_seconds is R's start plus library(susieR).
R_SCRIPT = r"""
args <- commandArgs(trailingOnly = TRUE)
arm <- args[1]; work <- args[2]; launched <- as.numeric(args[3]); seed <- as.integer(args[4])
suppressMessages(library(susieR))
cat(sprintf("load_seconds\t%.3f\n", as.numeric(Sys.time()) - launched))
cat(sprintf("version\tsusieR %s, %s, BLAS %s\n", packageVersion("susieR"), R.version.string, extSoftVersion()[["BLAS"]]))
rows <- character(0)
for (g in readLines(file.path(work, "genes.txt"))) {
  dir <- file.path(work, g)
  d <- scan(file.path(dir, "dims.txt"), quiet = TRUE); n <- d[1]; p <- d[2]
  rd <- function(f, k) readBin(file.path(dir, f), "double", k)
  y <- rd("y.bin", n)
  set.seed(seed)  # MAGE: one gene per job, set.seed(1) (purity of sets > 100 variables is subsampled)
  if (arm == "susieR_susie") {
    X <- matrix(rd("X.bin", n * p), n, p)
    t <- system.time(fit <- susie(X, y, L = 10))
  } else {
    z <- rd("z.bin", p); R <- matrix(rd("R.bin", p * p), p, p)
    t <- system.time(fit <- susie_rss(z, n = n, R = R, var_y = var(y), L = 10, coverage = 0.95, min_abs_corr = 0.5,
                                      estimate_residual_variance = TRUE))
  }
  writeBin(as.double(fit$pip), file.path(dir, paste0(arm, ".pip.bin")))
  rows <- c(rows, paste(g, t[["elapsed"]], t[["user.self"]] + t[["sys.self"]], fit$niter, fit$converged,
                        length(fit$sets$cs), sep = "\t"))
  rm(list = intersect(c("X", "R", "fit"), ls())); invisible(gc())
}
writeLines(rows, file.path(work, paste0(arm, ".tsv")))
"""


# ---------------------------------------------------------------- inputs


@dataclass
class Chromosome:
    """Everything load_gene reads, read once: BED, the [1, covariates] basis, the dosages of every variant."""

    bed: object  # pandas DataFrame: the BED rows
    n_covariates: int
    Q: np.ndarray  # orthonormal basis of [1, covariates] (samples x (k + 1))
    pos: np.ndarray
    dosage: np.ndarray  # variants x samples, ALT allele counts (int8)

    @property
    def df(self) -> int:
        return self.Q.shape[0] - self.Q.shape[1] - 1  # n - 2 - covariates


def read_chromosome(folder: Path) -> Chromosome:
    import pandas as pd
    from cyvcf2 import VCF

    bed = pd.read_csv(folder / BED_FILE, sep="\t")
    samples = list(bed.columns[6:])
    cov = pd.read_csv(folder / COV_FILE, sep=" ", index_col=0)[samples]
    vcf = VCF(str(folder / VCF_FILE))
    if list(vcf.samples) != samples:
        raise cli.InputError(f"{folder / VCF_FILE}: samples differ from {folder / BED_FILE}")
    pos, types = [], []
    for variant in vcf:
        pos.append(variant.POS)
        types.append(variant.gt_types.copy())  # 0 hom ref, 1 het, 2 unknown, 3 hom alt
    gt = np.array(types, dtype=np.int8)
    if (gt == 2).any():
        raise cli.InputError(f"{folder / VCF_FILE}: missing genotypes (load_gene assumes none)")
    C = np.column_stack([np.ones(len(samples)), cov.T.to_numpy(float)])
    Q, _ = np.linalg.qr(C)
    return Chromosome(bed, cov.shape[0], Q, np.array(pos), np.where(gt == 3, 2, gt).astype(np.int8))


def inverse_normal(x: np.ndarray) -> np.ndarray:
    from scipy.stats import norm, rankdata

    return norm.ppf((rankdata(x) - 0.5) / x.size)


def cis_columns(chrom: Chromosome, tss: int, args) -> np.ndarray:
    """Indices of the variants within +-window of the TSS with in-sample MAF >= maf (the --max-variants nearest)."""
    lo = np.searchsorted(chrom.pos, tss - args.window, side="left")
    hi = np.searchsorted(chrom.pos, tss + args.window, side="right")
    index = np.arange(lo, hi)
    af = chrom.dosage[index].mean(axis=1) / 2
    keep = index[np.minimum(af, 1 - af) >= args.maf]
    if args.max_variants:
        keep = np.sort(keep[np.argsort(np.abs(chrom.pos[keep] - tss), kind="stable")[: args.max_variants]])
    return keep


def gene_inputs(chrom: Chromosome, row, args) -> dict:
    """load_gene's X, y and z for one BED row (R is added only for the genes kept, see with_ld)."""
    tss = int(row["start"]) + 1
    keep = cis_columns(chrom, tss, args)
    Q = chrom.Q
    y = inverse_normal(row.iloc[6:].to_numpy(float))
    y = y - Q @ (Q.T @ y)
    G = chrom.dosage[keep].T.astype(float)
    X = G - Q @ (Q.T @ G)
    r = X.T @ y / np.sqrt(np.sum(X**2, axis=0) * np.sum(y**2))
    z = r * np.sqrt(chrom.df / (1 - r**2))
    return {"gene": str(row["gene"]), "tss": tss, "X": X, "y": y, "z": z, "p_min": min_pvalue(z, chrom.df)}


def min_pvalue(z: np.ndarray, df: int) -> float:
    from scipy.stats import t

    return float(2 * t.sf(np.max(np.abs(z)), df)) if z.size else 1.0


def select_genes(chrom: Chromosome, args) -> tuple[list[dict], int]:
    """The first --genes genes in BED order whose min marginal p < --min-p (or the --gene-ids), and how many were scanned."""
    bed = chrom.bed
    if args.gene_ids:
        missing = set(args.gene_ids) - set(bed["gene"])
        if missing:
            raise cli.InputError(f"genes not in {BED_FILE}: {', '.join(sorted(missing))}")
        bed = bed[bed["gene"].isin(args.gene_ids)]
    chosen, scanned = [], 0
    for _, row in bed.iterrows():
        scanned += 1
        d = gene_inputs(chrom, row, args)
        if d["X"].shape[1] > 0 and (args.gene_ids or d["p_min"] < args.min_p):
            chosen.append(d)
        if not args.gene_ids and len(chosen) == args.genes:
            break
    return chosen, scanned


def write_inputs(folder: Path, d: dict) -> None:
    """X, y, z, R as raw float64, column-major (as R's matrix() fills); R = corr(X) is formed here, once."""
    folder.mkdir(parents=True, exist_ok=True)
    np.savetxt(folder / "dims.txt", d["X"].shape, fmt="%d")
    d["X"].T.tofile(folder / "X.bin")
    d["y"].tofile(folder / "y.bin")
    d["z"].tofile(folder / "z.bin")
    np.corrcoef(d["X"], rowvar=False).tofile(folder / "R.bin")


def read_inputs(folder: Path, keys: tuple[str, ...]) -> dict:
    n, p = np.loadtxt(folder / "dims.txt", dtype=int)
    shapes = {"X": (p, n), "y": (n,), "z": (p,), "R": (p, p)}
    return {key: np.fromfile(folder / f"{key}.bin").reshape(shapes[key]).T for key in keys}


def prepare(args) -> tuple[list[dict], str]:
    """Select the genes, write their inputs under --workdir; return one record per gene and a line describing them."""
    from cis_peers import geuvadis_sources

    start = time.perf_counter()
    chrom = read_chromosome(geuvadis_sources(args.workdir) if args.data is None else args.data)
    genes, scanned = select_genes(chrom, args)
    if not genes:
        raise cli.InputError(f"no gene with min marginal p < {args.min_p:g} among {scanned} scanned")
    records = []
    for d in genes:
        write_inputs(args.workdir / d["gene"], d)
        records.append({"gene": d["gene"], "tss": d["tss"], "n_variants": int(d["X"].shape[1]), "p_min": d["p_min"]})
    (args.workdir / "genes.txt").write_text("".join(f"{r['gene']}\n" for r in records))
    how = f"the first {len(records)} in BED order with min marginal p < {args.min_p:g}"
    how = ", ".join(args.gene_ids) if args.gene_ids else how
    line = (f"data: GEUVADIS chr22, {chrom.Q.shape[0]} samples, {chrom.n_covariates} covariates, {len(chrom.pos)} variants; "
            f"genes: {how} ({scanned} of {len(chrom.bed)} scanned); "
            f"inputs built in {time.perf_counter() - start:.1f} s")  # fmt: skip
    return records, line


# ---------------------------------------------------------------- the mage arms' child (this file with --child)


def fit_mage(arm: str, folder: Path):
    if arm == "mage":
        d = read_inputs(folder, ("X", "y"))
        return lambda: susie(d["X"], d["y"], L=L_EFFECTS)
    d = read_inputs(folder, ("z", "R", "y"))
    return lambda: susie_rss(d["z"], d["R"], len(d["y"]), L=L_EFFECTS, estimate_residual_variance=True)


def run_child(args) -> None:
    """One mage arm over every gene of genes.txt: time each fit alone, write its PIPs and a row of arm.tsv."""
    print(f"load_seconds\t{time.time() - args.launched:.3f}", flush=True)
    print(f"version\tmagelib {MAGE_VERSION}, numpy {np.__version__}", flush=True)
    rows = []
    for gene in (args.workdir / "genes.txt").read_text().split():
        fit_once = fit_mage(args.child, args.workdir / gene)
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            fit = fit_once()
        except cli.InputError as err:
            print(f"{gene}: failed: {err}", flush=True)
            continue
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        fit.pip.tofile(args.workdir / gene / f"{args.child}.pip.bin")
        rows.append(f"{gene}\t{wall:.6f}\t{cpu:.6f}\t{fit.niter}\t{fit.converged}\t{len(fit.sets)}\n")
    (args.workdir / f"{args.child}.tsv").write_text("".join(rows))


# ---------------------------------------------------------------- running the arms


@dataclass
class ArmRun:
    arm: str
    wall: float = float("nan")  # the child process, start-up and input reading included
    cpu: float = float("nan")
    rss_bytes: int = 0
    load_seconds: float = float("nan")
    version: str = ""
    genes: dict[str, dict] = field(default_factory=dict)  # per gene: seconds, cpu_seconds, niter, converged, n_sets
    note: str = ""

    def mean(self, key: str, genes: list[str]) -> float:
        values = [self.genes[g][key] for g in genes if g in self.genes]
        return float(np.mean(values)) if len(values) == len(genes) and values else float("nan")


def thread_env(threads: int, **extra) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    env.update(extra)
    return env


def timed(cmd: list[str], log: Path, env: dict) -> tuple[float, int, float]:
    """Run one child under GNU time; (wall seconds, peak RSS in bytes, CPU seconds) of the child alone.

    Not os.wait4 from here: a child forked from this process starts its ru_maxrss at this process's high-water
    RSS (the kernel carries it over exec), which is large once the chromosome's dosages are read; GNU time is a
    small process, so its child's peak is the arm's own. Without /usr/bin/time, os.wait4 (an upper bound).
    """
    start = time.perf_counter()
    usage_file = log.with_suffix(".time")
    gnu_time = Path(GNU_TIME).exists()
    wrapped = [GNU_TIME, "-f", "%M %U %S", "-o", str(usage_file), *cmd] if gnu_time else cmd
    with open(log, "w") as handle:
        proc = subprocess.Popen(wrapped, stdout=handle, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"exit {os.waitstatus_to_exitcode(status)}, see {log}")
    if not gnu_time:
        return wall, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime
    max_kib, user, system = usage_file.read_text().split()[-3:]
    return wall, int(max_kib) * 1024, float(user) + float(system)


def arm_command(arm: str, args, launched: float) -> tuple[list[str], dict] | str:
    """The child's command and environment, or why the arm cannot run."""
    work = str(args.workdir)
    if arm in ("mage", "mage_rss"):
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", arm, "--workdir", work, "--launched", repr(launched)]
        return cmd, thread_env(args.threads)
    if arm.startswith("susieR"):
        script = args.workdir / "finemap_peers.R"
        script.write_text(R_SCRIPT)
        return ["Rscript", str(script), arm, work, repr(launched), str(args.seed)], thread_env(args.threads)
    if not Path(args.tensorqtl_python).exists():
        return f"skipped: {args.tensorqtl_python} missing (run benchmarks/setup_tensorqtl.sh)"
    cmd = [str(args.tensorqtl_python), str(HERE / "run_tensorqtl.py"), "susie", "--workdir", work, "--threads",
           str(args.threads), "--launched", repr(launched)]  # fmt: skip
    env = thread_env(args.threads, PYTHONNOUSERSITE="1")
    env.pop("PYTHONPATH", None)
    return cmd, env


def read_arm_outputs(run: ArmRun, args, log: Path) -> None:
    """The child's arm.tsv (one row per fitted gene) and its load_seconds / version lines."""
    for line in log.read_text().splitlines():
        key, _, value = line.partition("\t")
        if key == "load_seconds":
            run.load_seconds = float(value)
        elif key == "version":
            run.version = value
    for line in (args.workdir / f"{run.arm}.tsv").read_text().splitlines():
        gene, seconds, cpu, niter, converged, n_sets = line.split("\t")
        run.genes[gene] = {"seconds": float(seconds), "cpu_seconds": float(cpu), "niter": int(niter),
                           "converged": converged.lower() == "true", "n_sets": int(n_sets)}  # fmt: skip


def run_arm(arm: str, genes: list[str], args) -> ArmRun:
    print(f"  running {arm} ...", flush=True)
    for stale in [args.workdir / f"{arm}.tsv", *(args.workdir / g / f"{arm}.pip.bin" for g in genes)]:
        stale.unlink(missing_ok=True)
    launched = time.time()
    command = arm_command(arm, args, launched)
    if isinstance(command, str):
        return ArmRun(arm, note=command)
    (cmd, env), run, log = command, ArmRun(arm), args.workdir / f"{arm}.log"
    load_before = os.getloadavg()[0]
    try:
        run.wall, run.rss_bytes, run.cpu = timed(cmd, log, env)
        read_arm_outputs(run, args, log)
    except (RuntimeError, FileNotFoundError, ValueError) as err:
        return ArmRun(arm, note=f"FAILED: {err}")
    missing = [g for g in genes if g not in run.genes]
    run.note = f"load {load_before:.1f}->{os.getloadavg()[0]:.1f}" + (f"; failed on {', '.join(missing)}" if missing else "")
    return run


def read_pip(args, gene: str, arm: str) -> np.ndarray | None:
    path = args.workdir / gene / f"{arm}.pip.bin"
    return np.fromfile(path) if path.exists() else None


def pip_differences(genes: list[str], runs: dict[str, ArmRun], args) -> dict[str, dict[str, float]]:
    """max |PIP(arm) - PIP(reference)| per gene for each comparison whose two arms both ran."""
    out = {}
    for arm, ref in COMPARISONS:
        if arm not in runs or ref not in runs:
            continue
        diffs = {}
        for gene in genes:
            a, b = read_pip(args, gene, arm), read_pip(args, gene, ref)
            if a is not None and b is not None:
                diffs[gene] = float(np.max(np.abs(a - b)))
        if diffs:
            out[f"{arm} vs {ref}"] = diffs
    return out


# ---------------------------------------------------------------- reporting


def fmt_seconds(s: float) -> str:
    return "NA" if not np.isfinite(s) else (f"{s:.3f}" if s < 10 else f"{s:.1f}")


def gene_table(records: list[dict], runs: dict[str, ArmRun], diffs: dict[str, dict[str, float]]) -> list[str]:
    """One row per gene: min marginal p, variants, fit seconds per arm, max |PIP diff| per comparison."""
    arms, names = list(runs), list(diffs)
    short = [name.replace(" vs ", "-") for name in names]
    head = f"  {'gene':<19} {'min p':>8} {'variants':>8} " + " ".join(f"{a:>15}" for a in arms)
    lines = [f"  fit seconds per arm; max |PIP difference| per comparison ({', '.join(short)})",
             head + "  " + " ".join(f"{s:>12}" for s in short)]  # fmt: skip
    for r in records:
        g = r["gene"]
        times = " ".join(f"{fmt_seconds(runs[a].genes.get(g, {}).get('seconds', float('nan'))):>15}" for a in arms)
        pips = " ".join(f"{diffs[n][g]:>12.1e}" if g in diffs[n] else f"{'NA':>12}" for n in names)
        lines.append(f"  {g:<19} {r['p_min']:>8.1e} {r['n_variants']:>8} {times}  {pips}")
    return lines


def arm_summary(genes: list[str], runs: dict[str, ArmRun]) -> list[str]:
    """Mean fit time per gene, start-up, the child's whole wall time and peak RSS, convergence, per arm."""
    mage = runs.get("mage", ArmRun("mage"))
    lines = [f"  {'arm':<16} {'wall/gene':>10} {'CPU/gene':>10} {'/mage':>7} {'start-up':>9} {'child wall':>10} "
             f"{'peak RSS':>9} {'converged':>9} {'sets':>5}  note"]  # fmt: skip
    for arm, run in runs.items():
        wall, cpu = run.mean("seconds", genes), run.mean("cpu_seconds", genes)
        rss = f"{run.rss_bytes / 2**20:.0f} MiB" if run.rss_bytes else "NA"
        converged = f"{sum(v['converged'] for v in run.genes.values())}/{len(genes)}"
        sets = sum(v["n_sets"] for v in run.genes.values())
        lines.append(f"  {arm:<16} {fmt_seconds(wall):>8} s {fmt_seconds(cpu):>8} s {wall / mage.mean('seconds', genes):>7.2f} "
                     f"{fmt_seconds(run.load_seconds):>7} s {fmt_seconds(run.wall):>8} s {rss:>9} {converged:>9} {sets:>5}  "
                     f"{run.note}")  # fmt: skip
    lines.append("  versions: " + "; ".join(f"{arm}: {run.version}" for arm, run in runs.items() if run.version))
    return lines


def ratio(runs: dict[str, ArmRun], arm: str, genes: list[str], key: str = "seconds") -> float:
    if arm not in runs or "mage" not in runs:
        return float("nan")
    return runs[arm].mean(key, genes) / runs["mage"].mean(key, genes)


def ratio_line(runs: dict[str, ArmRun], genes: list[str], key: str = "seconds") -> str:
    parts = []
    for arm in ("susieR_rss_mage", "susieR_susie", "tensorqtl"):
        value = ratio(runs, arm, genes, key)
        parts.append(f"{arm}/mage={value:.2f}" if np.isfinite(value) else f"{arm}/mage=NA")
    return "RATIO " + " ".join(parts)


def verdict(ok: bool | None) -> str:
    return "NA (arm did not run)" if ok is None else ("met" if ok else "NOT met")


def target_lines(runs: dict[str, ArmRun], genes: list[str], diffs: dict[str, dict[str, float]], threads: int) -> list[str]:
    rss, individual = ratio(runs, "susieR_rss_mage", genes), ratio(runs, "susieR_susie", genes)
    cores = "one core" if threads == 1 else f"{threads} cores"
    rss_ok = rss >= RSS_SPEEDUP_TARGET if np.isfinite(rss) else None
    individual_ok = individual > 1 if np.isfinite(individual) else None
    lines = [
        f"  mage >= {RSS_SPEEDUP_TARGET:.0f}x faster than susie_rss as MAGE ran it: susieR_rss_mage/mage = {rss:.2f} "
        f"(>= {RSS_SPEEDUP_TARGET:.0f} needed) -> {verdict(rss_ok)}",
        f"  mage faster than susieR susie on {cores}: susieR_susie/mage = {individual:.2f} (> 1 needed) "
        f"-> {verdict(individual_ok)}",
    ]
    for name in ("mage vs susieR_susie", "mage_rss vs susieR_rss_mage"):
        worst = max(diffs[name].values()) if name in diffs else float("nan")
        ok = worst <= PIP_TOLERANCE if name in diffs and len(diffs[name]) == len(genes) else None
        lines.append(f"  PIPs within {PIP_TOLERANCE:g} of susieR, {name}: max {worst:.1e} -> {verdict(ok)}")
    return lines


def blas_info() -> str:
    config = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    return f"numpy {np.__version__} with {config.get('name')} {config.get('version')}"


def report(records: list[dict], runs: dict[str, ArmRun], args) -> dict:
    genes = [r["gene"] for r in records]
    diffs = pip_differences(genes, runs, args)
    print()
    for line in gene_table(records, runs, diffs) + [""] + arm_summary(genes, runs):
        print(line)
    print("\n  max |PIP - reference| over all genes and variants:")
    for name, per_gene in diffs.items():
        worst = max(per_gene, key=per_gene.get)
        print(f"  {name:<32} {per_gene[worst]:.2e} (on {worst}; median over genes {np.median(list(per_gene.values())):.1e})")
    print("\ntargets (the issue's):")
    for line in target_lines(runs, genes, diffs, args.threads):
        print(line)
    print(f"\nload average after the runs: {os.getloadavg()[0]:.2f}")
    print(f"CPU-time ratios: {ratio_line(runs, genes, 'cpu_seconds')}")
    print(ratio_line(runs, genes))
    return {"pip_max_abs_diff": diffs, "ratio_wall": ratio_line(runs, genes), "ratio_cpu": ratio_line(runs, genes, "cpu_seconds")}


def write_json(path: Path, records: list[dict], runs: dict[str, ArmRun], summary: dict, args, header: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in ("child", "launched")}
    arms = {arm: asdict(run) for arm, run in runs.items()}
    result = {"settings": settings, "header": header, "genes": records, "arms": arms, **summary}
    path.write_text(json.dumps(result, indent=1, default=float) + "\n")


# ---------------------------------------------------------------- main


def parse_args(argv=None) -> argparse.Namespace:
    p = cli.parser(__doc__.splitlines()[0])
    p.add_argument("--genes", type=int, default=10, help="fine-map the first N eGenes (BED order) of the scan")
    p.add_argument("--gene-ids", default="", help="comma-separated gene IDs to use instead of the scan")
    p.add_argument("--min-p", type=float, default=1e-8, help="an eGene here: min marginal (nominal) p below this")
    p.add_argument("--max-variants", type=int, default=None, help="keep only the N cis variants nearest the TSS (default all)")
    p.add_argument("--arms", default=",".join(ARMS), help="comma-separated subset of " + ",".join(ARMS))
    p.add_argument("--threads", type=int, default=1, help="BLAS / OpenMP / torch threads of every arm")
    p.add_argument("--window", type=int, default=1_000_000)
    p.add_argument("--maf", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=1, help="R's set.seed before each gene (MAGE: 1)")
    p.add_argument("--data", type=Path, default=None, help="GEUVADIS chr22 folder (default: the shared copy or Debian's)")
    p.add_argument("--workdir", type=Path, default=HERE / "out" / "finemap_peers", help="per-gene inputs, PIPs and logs")
    p.add_argument("--out", type=Path, default=HERE / "out" / "finemap_peers.json", help="JSON of the results")
    p.add_argument("--tensorqtl-python", default=str(TENSORQTL_PYTHON), help="python of tensorQTL's virtualenv")
    p.add_argument("--child", choices=["mage", "mage_rss"], default=None, help=argparse.SUPPRESS)
    p.add_argument("--launched", type=float, default=0.0, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    args.gene_ids = [g.strip() for g in args.gene_ids.split(",") if g.strip()]
    unknown = set(args.arms) - set(ARMS)
    if unknown:
        p.error(f"unknown arm(s): {', '.join(sorted(unknown))}")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.child:
        run_child(args)
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    header = [f"SuSiE fine-mapping peers: {', '.join(args.arms)}; L = {L_EFFECTS}; {args.threads} thread(s) per arm",
              f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores (other work inflates wall times)",
              f"BLAS: {blas_info()}"]  # fmt: skip
    for line in header:
        print(line)
    print("building inputs ...", flush=True)
    records, data_line = prepare(args)
    header.append(data_line)
    print(data_line)
    genes = [r["gene"] for r in records]
    runs = {arm: run_arm(arm, genes, args) for arm in args.arms}
    summary = report(records, runs, args)
    write_json(args.out, records, runs, summary, args, header)


if __name__ == "__main__":
    sys.exit(cli.run(main))
