#!/usr/bin/env python3
"""Hidden factors for QTL mapping: PCA of a phenotype BED, number of PCs by the Buja-Eyuboglu permutation rule.

Writes, with PREFIX:
  PREFIX.hidden_factors.tsv              FastQTL covariate format: id, then samples (BED order); rows expression_PC1..K
  PREFIX.expression_pca.tsv              per PC: variance_explained, permuted_q95, p_value, selected
  PREFIX.expression_pca_variance_mqc.json  MultiQC: variance explained vs the permutation 95th percentile
  PREFIX.expression_pca_mqc.json         MultiQC: PC1 vs PC2 coloured by continental group (with --samples)
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd

from magelib.cli import InputError, parser, run
from magelib.covariates import assemble, factors
from magelib.io import tables
from magelib.io.atomic import atomic_open, atomic_path
from magelib.report import multiqc


def n_factors_arg(value: str) -> str | int:
    if value == "auto":
        return value
    try:
        number = int(value)
    except ValueError as err:
        raise InputError(f"--n-factors must be 'auto' or a whole number, not '{value}'") from err
    if number < 0:
        raise InputError(f"--n-factors must be >= 0, not {number}")
    return number


def build_parser():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--phenotypes", required=True, help="phenotype BED (bgzipped; e.g. the inverse-normal TMM expression)")
    p.add_argument("--prefix", default="expression", help="output prefix")
    p.add_argument("--n-factors", default="auto", help="'auto' (Buja-Eyuboglu) or a fixed number of PCs")
    p.add_argument("--max-factors", type=int, default=60, help="upper bound on the number of PCs chosen by 'auto'")
    p.add_argument("--permutations", type=int, default=20, help="Buja-Eyuboglu permutations (PCAForQTL default 20)")
    p.add_argument("--alpha", type=float, default=0.05, help="Buja-Eyuboglu significance level")
    p.add_argument("--seed", type=int, default=1, help="seed of the permutations")
    p.add_argument("--genotype-pcs", help="plink2 .eigenvec, used only with --regress-genotype-pcs")
    p.add_argument(
        "--regress-genotype-pcs",
        type=int,
        default=0,
        help="regress this many genotype PCs out of every phenotype before the PCA (0 = no, as GTEx/eQTL Catalogue)",
    )
    p.add_argument("--samples", help="sample table TSV (individual, continental_group) to colour the MultiQC scatter plot")
    return p


def variance_mqc(table: pd.DataFrame, prefix: str) -> dict:
    observed = {int(pc): round(float(v), 8) for pc, v in zip(table["pc"], table["variance_explained"], strict=True)}
    data = {"Observed": observed}
    if table["permuted_q95"].notna().any():
        data["Permuted 95th percentile"] = {
            int(pc): round(float(v), 8) for pc, v in zip(table["pc"], table["permuted_q95"], strict=True)
        }
    selected = int(table["selected"].sum())
    return {
        "id": "mage_expression_pca_variance",
        "section_name": "Expression PCs: variance explained",
        "description": f"Proportion of phenotype variance explained by each expression PC ({prefix}); {selected} PCs are used "
        "as hidden-factor covariates (Buja-Eyuboglu: PCs explaining more than under permutation).",
        "plot_type": "linegraph",
        "pconfig": {
            "id": "mage_expression_pca_variance_plot",
            "title": "Expression PCs: variance explained",
            "xlab": "PC",
            "ylab": "Proportion of variance",
            "ymin": 0,
        },
        "data": data,
    }


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    n_factors = n_factors_arg(args.n_factors)
    _, values = tables.read_phenotype_bed(args.phenotypes)
    samples = list(values.columns)
    matrix = values.to_numpy()
    if args.regress_genotype_pcs:
        if not args.genotype_pcs:
            raise InputError("--regress-genotype-pcs needs --genotype-pcs")
        pcs = assemble.read_eigenvec(args.genotype_pcs)
        geno = assemble.genotype_pc_rows(pcs, samples, args.regress_genotype_pcs, args.genotype_pcs)
        matrix = factors.regress_out(matrix, geno.to_numpy().T)
    x, varying = factors.standardize(matrix)
    if x.shape[1] == 0 or x.shape[0] < 3:
        raise InputError(f"{args.phenotypes}: need at least 3 samples and one varying phenotype for a PCA")
    d = factors.n_components(x)
    if n_factors == "auto":
        be = factors.buja_eyuboglu(x, args.permutations, args.alpha, np.random.default_rng(args.seed))
        k = min(be.n_selected, args.max_factors)
        q95, p_values = np.quantile(be.pve_permuted, 0.95, axis=0), be.p_values
    else:
        if n_factors > d:
            raise InputError(f"{args.phenotypes}: {n_factors} PCs requested but {len(samples)} samples give at most {d}")
        k, q95, p_values = n_factors, np.full(d, np.nan), np.full(d, np.nan)
    scores, pve = factors.pca_scores(x, max(k, min(2, d)))
    hidden = pd.DataFrame(scores[:, :k].T, index=[f"expression_PC{i + 1}" for i in range(k)], columns=samples)
    tables.write_covariates(hidden, f"{args.prefix}.hidden_factors.tsv")
    table = pd.DataFrame(
        {
            "pc": np.arange(1, d + 1),
            "variance_explained": pve[:d],
            "permuted_q95": q95,
            "p_value": p_values,
            "selected": np.arange(1, d + 1) <= k,
        }
    )
    with atomic_path(f"{args.prefix}.expression_pca.tsv") as tmp:
        table.to_csv(tmp, sep="\t", index=False, float_format="%.10g", na_rep="NA")
    with atomic_open(f"{args.prefix}.expression_pca_variance_mqc.json") as handle:
        json.dump(variance_mqc(table.head(max(args.max_factors, 20)), args.prefix), handle, indent=1)
    if args.samples and scores.shape[1] >= 2:
        meta = assemble.read_table(args.samples, ("individual",))
        groups = meta.drop_duplicates("individual").set_index("individual").get("continental_group", pd.Series(dtype=str))
        points = pd.DataFrame(scores[:, :2], index=samples)
        plot = multiqc.scatter_mqc(
            "mage_expression_pca",
            "Expression PCs",
            "Expression PC1 vs PC2 of the phenotype matrix, coloured by continental group.",
            points,
            groups,
            f"PC1 ({pve[0]:.1%})",
            f"PC2 ({pve[1]:.1%})",
        )
        with atomic_open(f"{args.prefix}.expression_pca_mqc.json") as handle:
            json.dump(plot, handle, indent=1)
    dropped = int((~varying).sum())
    print(
        f"{k} expression PCs kept of {d} ({'Buja-Eyuboglu' if n_factors == 'auto' else 'fixed'}); "
        f"{x.shape[1]} phenotypes used, {dropped} constant ones skipped",
        file=sys.stderr,
    )


if __name__ == "__main__":
    sys.exit(run(main))
