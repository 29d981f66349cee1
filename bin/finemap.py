#!/usr/bin/env python3
"""Fine-mapping of significant phenotypes with SuSiE (MAGE §2.20-2.21), on the cis pass's inputs.

For every phenotype of a unit with qval <= --fdr in the FDR table (eGenes; every intron of an sGene in grouped
mode): y and the cis genotypes residualised on the covariates, then SuSiE with MAGE's settings. Outputs, for --out
PREFIX (plain TSV so that chunks can be concatenated; the eQTL Catalogue's SuSiE layout, docs/output.md):
  PREFIX.susie.credible_sets.tsv   one row per variant of each credible set (pip, z, beta, se, pvalue, purity)
  PREFIX.susie.cs_summary.tsv      one row per credible set: coverage, min/mean/median |r|, log10 BF, lead variant
  PREFIX.susie.pip.tsv             every cis variant of every fine-mapped phenotype: PIP, z, credible set
  PREFIX.susie.lbf_variable.tsv    per-effect log Bayes factors of every variant (lbf_variable1..L)
  PREFIX.susie.status.tsv          every selected phenotype: converged, not_converged, no_variants or failed, why
See magelib.finemap.run for the model.
"""

from __future__ import annotations

import sys

from magelib.cli import log, parser
from magelib.qtl.engine import add_problem_arguments, load_problem, run_engine

TABLES = ("credible_sets", "cs_summary", "pip", "lbf_variable", "status")


def build_parser():
    p = parser(__doc__.splitlines()[0])
    add_problem_arguments(p)
    p.add_argument("--fdr-table", required=True, help="qtl_fdr.py's cis_qtl.fdr.txt.gz (qval per phenotype or group)")
    p.add_argument("--fdr", type=float, default=0.05, help="FDR defining the phenotypes to fine-map")
    p.add_argument("--mode", choices=["individual", "rss"], default="individual", help="individual SuSiE or MAGE's susie_rss")
    p.add_argument("--L", type=int, default=10, help="maximum number of effects per phenotype")
    p.add_argument("--coverage", type=float, default=0.95, help="credible-set coverage")
    p.add_argument("--min-abs-corr", type=float, default=0.5, help="credible-set purity: minimum |r| between its variants")
    p.add_argument("--max-iter", type=int, default=100, help="IBSS iterations at most")
    p.add_argument("--tol", type=float, default=1e-3, help="IBSS convergence tolerance on the ELBO")
    return p


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    # numpy loads here, after run_engine() set the BLAS thread count
    from magelib.finemap.run import FinemapSettings, collect, map_finemap
    from magelib.qtl.outputs import read_table, write_table
    from magelib.qtl.problem import Settings

    settings = FinemapSettings(args.L, args.coverage, args.min_abs_corr, args.mode, args.max_iter, args.tol)
    settings.check()
    problem = load_problem(args, Settings(args.window, args.maf), f"finemap ({args.mode})")
    tables = collect(map_finemap(problem, read_table(args.fdr_table), args.fdr, settings, args.threads), args.L)
    for name in TABLES:
        write_table(tables[name], f"{args.out}.susie.{name}.tsv")
    counts = tables["status"]["status"].value_counts().to_dict()
    log(f"done: {len(tables['status'])} phenotypes fine-mapped {counts}, {len(tables['cs_summary'])} credible sets")


if __name__ == "__main__":
    sys.exit(run_engine(main))
