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

import sys

from magelib.cli import InputError, log, parser
from magelib.qtl.engine import add_problem_arguments, load_problem, run_engine


def build_parser():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("mode", choices=["nominal", "permutation", "independent"])
    add_problem_arguments(p)
    p.add_argument("--permutations", type=int, nargs="+", default=[1000, 10000], help="N (fixed) or HITS MAX (adaptive, FastQTL)")
    p.add_argument("--seed", type=int, default=1, help="seed of the shuffle matrix")
    p.add_argument("--permutation-table", default=None, help="independent mode: permutation table with qval (qtl_fdr.py output)")
    p.add_argument("--fdr", type=float, default=0.05, help="independent mode: FDR defining significant phenotypes")
    p.add_argument("--float64", action="store_true", help="run the permutation products in float64 (slower; for checks)")
    return p


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    # numpy loads here, after run_engine() set the BLAS thread count
    from magelib.qtl.cis import map_nominal, map_permutations
    from magelib.qtl.independent import map_independent
    from magelib.qtl.outputs import read_table, write_nominal, write_table
    from magelib.qtl.problem import Settings

    if len(args.permutations) not in (1, 2) or min(args.permutations) < 1:
        raise InputError("--permutations takes N or HITS MAX (positive integers)")
    settings = Settings(args.window, args.maf, tuple(args.permutations), args.seed, not args.float64)
    problem = load_problem(args, settings, args.mode)
    if args.mode == "permutation":
        write_table(map_permutations(problem, args.threads), f"{args.out}.cis_qtl.txt.gz")
    elif args.mode == "nominal":
        write_nominal(map_nominal(problem, args.threads), args.out)
    else:
        if not args.permutation_table:
            raise InputError("independent mode needs --permutation-table (the qtl_fdr.py table with qval)")
        table = read_table(args.permutation_table)
        write_table(map_independent(problem, table, args.fdr, args.threads), f"{args.out}.cis_independent_qtl.txt")
    log("done")


if __name__ == "__main__":
    sys.exit(run_engine(main))
