"""Run tensorQTL's cis permutation pass (map_cis) on CPU; called by cis_peers.py with tensorQTL's own virtualenv.

Kept free of magelib: this runs under numpy < 2 in benchmarks/.venv-tensorqtl, not in the main environment.
Writes the map_cis table (TSV, index phenotype_id) and prints the seconds spent in map_cis alone.

``run_tensorqtl.py susie --workdir DIR ...`` (called by finemap_peers.py) instead runs tensorQTL's torch SuSiE on the
per-gene inputs finemap_peers.py wrote (see susie_main).
"""

import argparse
import sys
import time
from pathlib import Path

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


def susie_main(argv: list[str]) -> None:
    """tensorqtl.susie.susie, the fit susie.map runs per phenotype, on every gene of WORKDIR/genes.txt.

    Inputs as finemap_peers.py wrote them (GENE/dims.txt, X.bin column-major samples x variants, y.bin), already
    residualised on the covariates, which is what susie.map hands to susie; as there, float32 tensors with y a
    column. L = 10 and susie's defaults otherwise (max_iter 100, tol 1e-3, as susieR; susie.map passes 200).
    Writes GENE/tensorqtl.pip.bin (float64) and WORKDIR/tensorqtl.tsv (gene, fit wall s, CPU s, niter, converged,
    credible sets); prints load_seconds (interpreter + torch + tensorqtl) and the versions.
    """
    import numpy as np
    import tensorqtl
    from tensorqtl import susie

    p = argparse.ArgumentParser(description="tensorQTL SuSiE for finemap_peers.py")
    p.add_argument("--workdir", type=Path, required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--launched", type=float, required=True, help="time.time() when the parent started this process")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"load_seconds\t{time.time() - args.launched:.3f}", flush=True)
    print(f"version\ttensorqtl {tensorqtl.__version__}, torch {torch.__version__}, numpy {np.__version__}", flush=True)
    rows = []
    for gene in (args.workdir / "genes.txt").read_text().split():
        folder = args.workdir / gene
        n, n_variants = np.loadtxt(folder / "dims.txt", dtype=int)
        X_t = torch.tensor(np.fromfile(folder / "X.bin").reshape(n_variants, n).T, dtype=torch.float32)
        y_t = torch.tensor(np.fromfile(folder / "y.bin"), dtype=torch.float32).reshape(-1, 1)
        wall, cpu = time.perf_counter(), time.process_time()
        res = susie.susie(X_t, y_t, L=10)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        np.asarray(res["pip"], dtype=np.float64).tofile(folder / "tensorqtl.pip.bin")
        n_sets = len(res["sets"]["cs"]) if res["sets"]["cs"] is not None else 0
        rows.append(f"{gene}\t{wall:.6f}\t{cpu:.6f}\t{res['niter']}\t{res['converged']}\t{n_sets}\n")
    (args.workdir / "tensorqtl.tsv").write_text("".join(rows))


if __name__ == "__main__":
    if sys.argv[1:2] == ["susie"]:
        susie_main(sys.argv[2:])
    else:
        main()
