"""Run tensorQTL's cis permutation pass (map_cis) on CPU; called by cis_peers.py with tensorQTL's own virtualenv.

Kept free of magelib: this runs under numpy < 2 in benchmarks/.venv-tensorqtl, not in the main environment.
Writes the map_cis table (TSV, index phenotype_id) and prints the seconds spent in map_cis alone.
"""

import argparse
import time

import pandas as pd
import torch
from tensorqtl import cis, genotypeio


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--plink", required=True, help="PLINK 2 prefix (.pgen/.pvar/.psam)")
    p.add_argument("--bed", required=True, help="phenotype BED (4 leading columns)")
    p.add_argument("--covariates", required=True, help="FastQTL covariates (id then samples)")
    p.add_argument("--permutations", type=int, required=True)
    p.add_argument("--window", type=int, required=True)
    p.add_argument("--maf", type=float, required=True)
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    phenotype_df, phenotype_pos_df = cis.read_phenotype_bed(args.bed)
    covariates_df = pd.read_csv(args.covariates, sep="\t", index_col=0).T.loc[phenotype_df.columns]
    genotype_df, variant_df = genotypeio.load_genotypes(args.plink, select_samples=phenotype_df.columns.tolist())
    start = time.perf_counter()
    table = cis.map_cis(
        genotype_df,
        variant_df,
        phenotype_df,
        phenotype_pos_df,
        covariates_df=covariates_df,
        maf_threshold=args.maf,
        nperm=args.permutations,
        window=args.window,
        seed=args.seed,
        verbose=False,
    )
    print(f"map_cis_seconds\t{time.perf_counter() - start:.2f}")
    table.to_csv(args.out, sep="\t", index_label="phenotype_id")


if __name__ == "__main__":
    main()
