"""What the QTL-engine CLIs (cis_qtl.py, finemap.py) share: the mapping-problem arguments, their checks, and the
runner that fixes BLAS to one thread before numpy loads. Imports no numpy at module level, on purpose."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from ..cli import InputError, log, run


def add_problem_arguments(p: argparse.ArgumentParser) -> None:
    """Inputs and the cis window of the mapping problem, as every engine CLI takes them."""
    p.add_argument("--genotypes", required=True, help="genotype store directory (prepare_genotypes.py) or an indexed VCF/BCF")
    p.add_argument(
        "--phenotypes", required=True, help="phenotype BED(.gz): #chr start end phenotype_id [extra fixed columns] samples..."
    )
    p.add_argument("--covariates", default=None, help="FastQTL covariate file (id then samples; one covariate per row)")
    p.add_argument("--groups", default=None, help="phenotype groups file (phenotype_id group_id) for grouped phenotypes (sQTL)")
    p.add_argument("--out", required=True, help="output prefix")
    p.add_argument("--window", type=int, default=1_000_000, help="cis window: |POS - (BED start + 1)| <= window")
    p.add_argument("--maf", type=float, default=0.01, help="minimum minor allele frequency over the mapped samples")
    p.add_argument(
        "--chunk",
        type=int,
        nargs=2,
        default=[1, 1],
        metavar=("K", "N"),
        help="map chunk K of N (over phenotypes or groups, BED order)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="worker processes, each with single-threaded BLAS (the output does not depend on this number)",
    )


def load_problem(args: argparse.Namespace, settings, what: str):
    """The chunk's mapping problem from the parsed arguments (settings: a magelib.qtl.problem.Settings)."""
    from .problem import Problem

    if args.threads < 1:
        raise InputError("--threads must be at least 1")
    if args.window < 0 or not 0 <= args.maf < 0.5:
        raise InputError("--window must be >= 0 and --maf in [0, 0.5)")
    problem = Problem(args.genotypes, args.phenotypes, args.covariates, args.groups, tuple(args.chunk), settings)
    log(
        f"{what}: chunk {args.chunk[0]}/{args.chunk[1]}: {problem.n_units} units, {len(problem.samples)} samples, "
        f"{problem.residualiser.k} covariates, df {problem.df}"
    )
    return problem


def single_threaded_blas() -> None:
    """One BLAS thread per process, so results cannot depend on the thread count (BLAS sums in a thread-dependent
    order); --threads forks worker processes instead. Effective only before numpy is first imported: run_engine()
    calls it first, and the CLIs import the engine inside main()."""
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"


def run_engine(main: Callable[[Sequence[str] | None], None], argv: Sequence[str] | None = None) -> int:
    """run(main) with single-threaded BLAS, and a killed worker reported as exit code 137 (as the kernel reports an
    OOM kill), so the pipeline's retry-with-more-memory rule applies."""
    single_threaded_blas()
    from .workers import WorkerKilled  # numpy loads here, after the BLAS thread count is set

    try:
        return run(main, argv)
    except WorkerKilled as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 137
