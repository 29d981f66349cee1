#!/usr/bin/env python3
"""cis-QTL mapping (FastQTL numerics): nominal pass, permutation pass with the beta approximation, independent signals.

Outputs, for --out PREFIX:
  permutation  PREFIX.cis_qtl.txt.gz: one row per phenotype (or group), tensorQTL/FastQTL columns
  nominal      PREFIX.cis_qtl_pairs.<chrom>.parquet: every cis pair
  independent  PREFIX.cis_independent_qtl.txt: conditionally independent signals of significant phenotypes (plain
               TSV so that the chunks can be concatenated)
See docs/qtl_engine.md.
"""

from __future__ import annotations

import os
import sys

from magelib.cli import InputError, parser, run


def build_parser():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("mode", choices=["nominal", "permutation", "independent"])
    p.add_argument("--genotypes", required=True, help="genotype store directory (prepare_genotypes.py) or an indexed VCF/BCF")
    p.add_argument(
        "--phenotypes", required=True, help="phenotype BED(.gz): #chr start end phenotype_id [extra fixed columns] samples..."
    )
    p.add_argument("--covariates", default=None, help="FastQTL covariate file (id then samples; one covariate per row)")
    p.add_argument("--out", required=True, help="output prefix")
    p.add_argument("--window", type=int, default=1_000_000, help="cis window: |POS - (BED start + 1)| <= window")
    p.add_argument("--maf", type=float, default=0.01, help="minimum minor allele frequency over the mapped samples")
    p.add_argument("--permutations", type=int, nargs="+", default=[1000, 10000], help="N (fixed) or HITS MAX (adaptive, FastQTL)")
    p.add_argument("--seed", type=int, default=1, help="seed of the shuffle matrix")
    p.add_argument("--groups", default=None, help="phenotype groups file (phenotype_id group_id) for grouped permutations (sQTL)")
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
    p.add_argument("--permutation-table", default=None, help="independent mode: permutation table with qval (qtl_fdr.py output)")
    p.add_argument("--fdr", type=float, default=0.05, help="independent mode: FDR defining significant phenotypes")
    p.add_argument("--float64", action="store_true", help="run the permutation products in float64 (slower; for checks)")
    return p


def single_threaded_blas() -> None:
    """One BLAS thread per process, so results cannot depend on the thread count (BLAS sums in a thread-dependent
    order); --threads forks worker processes instead. Effective only before numpy is first imported: run_engine()
    calls it first, and main() imports the engine late."""
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    from magelib import cis

    if len(args.permutations) not in (1, 2) or min(args.permutations) < 1:
        raise InputError("--permutations takes N or HITS MAX (positive integers)")
    if args.threads < 1:
        raise InputError("--threads must be at least 1")
    if args.window < 0 or not 0 <= args.maf < 0.5:
        raise InputError("--window must be >= 0 and --maf in [0, 0.5)")
    settings = cis.Settings(args.window, args.maf, tuple(args.permutations), args.seed, not args.float64)
    problem = cis.Problem(args.genotypes, args.phenotypes, args.covariates, args.groups, tuple(args.chunk), settings)
    cis.log(
        f"{args.mode}: chunk {args.chunk[0]}/{args.chunk[1]}: {problem.n_units} units, {len(problem.samples)} samples, "
        f"{problem.residualiser.k} covariates, df {problem.df}"
    )
    if args.mode == "permutation":
        cis.write_table(cis.map_permutations(problem, args.threads), f"{args.out}.cis_qtl.txt.gz")
    elif args.mode == "nominal":
        cis.write_nominal(cis.map_nominal(problem, args.threads), args.out)
    else:
        if not args.permutation_table:
            raise InputError("independent mode needs --permutation-table (the qtl_fdr.py table with qval)")
        table = cis.read_table(args.permutation_table)
        from magelib.independent import map_independent

        cis.write_table(map_independent(problem, table, args.fdr, args.threads), f"{args.out}.cis_independent_qtl.txt")
    cis.log("done")


def run_engine(argv=None) -> int:
    """run(main), with a killed worker reported as exit code 137 (as the kernel reports an OOM kill)."""
    single_threaded_blas()
    from magelib.cis import WorkerKilled  # numpy loads here, after the BLAS thread count is set

    try:
        return run(main, argv)
    except WorkerKilled as err:
        print(f"ERROR: {err}", file=sys.stderr)
        return 137


if __name__ == "__main__":
    sys.exit(run_engine())
