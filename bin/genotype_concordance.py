#!/usr/bin/env python3
"""Match every RNA-seq library to every individual of the genotype panel and give each library a verdict.

Inputs: the identity panel (identity_sites.py), one allele-count file per library (BCFTOOLS_MPILEUP) and the sample
table (library -> labelled individual). Metric (magelib.identity): at sites with >= --min-depth REF+ALT reads, a
library showing both alleles must be heterozygous and one showing a single allele must not be the opposite
homozygote; a het individual at a one-allele site is not counted (monoallelic expression).
concordance = consistent / counted sites.

Verdicts: ok, swap (another individual beats the labelled one, sign test p < --alpha), unknown (best concordance
< --min-concordance: contamination or a sample absent from the VCF), ambiguous (fewer than --min-sites sites, or
the labelled individual cannot be told apart from the best or the runner-up, e.g. a parent on a few sites).

Outputs in --outdir: genotype_concordance.tsv (one row per library), genotype_concordance_matrix.tsv (libraries x
the top candidates of every library), genotype_concordance.status.tsv, and MultiQC content (a table and a heatmap).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from magelib.cli import InputError, parser, run
from magelib.identity.concordance import (
    NOT_INFORMATIVE,
    VerdictRules,
    allele_states,
    concordance_counts,
    judge_library,
    panel_site_index,
    read_allele_counts,
)
from magelib.identity.sex import read_sample_table
from magelib.identity.sites import read_panel
from magelib.io.atomic import atomic_open
from magelib.io.tables import write_matrix

COLUMNS = [
    "sample",
    "labelled_individual",
    "verdict",
    "best_individual",
    "best_concordance",
    "best_sites",
    "labelled_concordance",
    "labelled_sites",
    "second_individual",
    "second_concordance",
    "n_sites",
    "n_tied_best",
    "tie_pvalue",
    "reason",
]
STATUS = {"ok": "kept", "swap": "flagged", "unknown": "flagged", "ambiguous": "flagged"}


def main(argv=None) -> None:
    p = parser(__doc__)
    p.add_argument("--panel", type=Path, required=True, help="identity panel (Parquet) from identity_sites.py")
    p.add_argument("--counts", type=Path, nargs="+", required=True, help="<library>.allele_counts.tsv.gz files")
    p.add_argument("--samples", type=Path, required=True, help="sample table: sample, individual, ...")
    p.add_argument("--min-depth", type=int, default=5, help="minimum REF+ALT reads for a site to be informative")
    p.add_argument("--min-allele-reads", type=int, default=2, help="reads needed to call an allele seen")
    p.add_argument("--min-allele-fraction", type=float, default=0.05, help="fraction of the depth needed to call an allele seen")
    p.add_argument("--min-concordance", type=float, default=0.9, help="best concordance below this: verdict unknown")
    p.add_argument("--min-sites", type=int, default=30, help="fewer informative sites: verdict ambiguous")
    p.add_argument("--alpha", type=float, default=0.01, help="sign-test level separating two individuals")
    p.add_argument("--top", type=int, default=3, help="candidates per library kept in the concordance matrix")
    p.add_argument("--heatmap-libraries", type=int, default=40, help="libraries in the MultiQC heatmap (non-ok first)")
    p.add_argument("--outdir", type=Path, default=Path("."), help="output directory")
    args = p.parse_args(argv)

    panel = read_panel(args.panel)
    samples = read_sample_table(args.samples)
    site_index = panel_site_index(panel)
    libraries, states = [], []
    for path in sorted(args.counts):
        library, ref, alt = read_allele_counts(path, panel, site_index)
        if library not in samples.index:
            raise InputError(f"{path}: library '{library}' is not in the sample table {args.samples}")
        if library in libraries:
            raise InputError(f"{path}: library '{library}' has two allele-count files")
        libraries.append(library)
        states.append(allele_states(ref, alt, args.min_depth, args.min_allele_reads, args.min_allele_fraction))
    states = np.column_stack(states)
    if (states == NOT_INFORMATIVE).all():
        contigs = ", ".join(sorted(set(panel.chrom))[:4])
        raise InputError(
            f"no library has {args.min_depth} reads at any of the {len(panel)} identity sites (contigs {contigs}): "
            "check that the BAMs and the VCF use the same contig names and build"
        )

    consistent, counted = concordance_counts(states, panel.genotypes)
    rules = VerdictRules(args.min_concordance, args.min_sites, args.alpha)
    rows = [
        judge_library(library, samples.at[library, "individual"], states[:, i], panel, consistent[i], counted[i], rules)
        for i, library in enumerate(libraries)
    ]
    results = pd.DataFrame(rows, columns=COLUMNS)
    with np.errstate(invalid="ignore", divide="ignore"):
        concordance = pd.DataFrame(
            np.where(counted > 0, consistent / np.maximum(counted, 1), np.nan), index=libraries, columns=panel.individuals
        )

    args.outdir.mkdir(parents=True, exist_ok=True)
    with atomic_open(args.outdir / "genotype_concordance.tsv") as handle:
        results.to_csv(handle, sep="\t", index=False, float_format="%.10g")
    candidates = top_candidates(results, concordance, args.top)
    write_matrix(concordance.loc[:, candidates], args.outdir / "genotype_concordance_matrix.tsv", index_label="sample")
    with atomic_open(args.outdir / "genotype_concordance.status.tsv") as handle:
        handle.write("sample\tstep\tstatus\treason\n")
        for row in results.itertuples():
            handle.write(f"{row.sample}\tgenotype_concordance\t{STATUS[row.verdict]}\t{row.verdict}: {row.reason}\n")
    write_multiqc(results, concordance, args)
    counts = results["verdict"].value_counts()
    print(f"{len(results)} libraries: " + ", ".join(f"{counts.get(v, 0)} {v}" for v in STATUS), file=sys.stderr)


def top_candidates(results: pd.DataFrame, concordance: pd.DataFrame, top: int) -> list[str]:
    """Each library's labelled individual and its ``top`` best matches, in library order, without repeats."""
    names: list[str] = []
    for row in results.itertuples():
        best = concordance.loc[row.sample].fillna(-1.0).sort_values(ascending=False, kind="stable").index[:top]
        for name in [row.labelled_individual, *best]:
            if name not in names:
                names.append(name)
    return names


def write_multiqc(results: pd.DataFrame, concordance: pd.DataFrame, args) -> None:
    table = {
        "id": "mage_genotype_concordance",
        "section_name": "Genotype concordance",
        "description": (
            "Each library's RNA-seq alleles at common exonic SNPs against every individual of the VCF. "
            "concordance = sites whose alleles the individual's genotype explains / sites counted. "
            "swap: another individual matches better; unknown: no individual matches (contamination or a sample "
            "absent from the VCF); ambiguous: too few sites or a tie (e.g. with a parent)."
        ),
        "plot_type": "table",
        "pconfig": {"id": "mage_genotype_concordance_table", "title": "Genotype concordance", "sort_rows": False},
        "headers": {
            "verdict": {"title": "Verdict"},
            "labelled_individual": {"title": "Labelled"},
            "labelled_concordance": {"title": "Labelled conc.", "min": 0, "max": 1, "format": "{:,.3f}", "scale": "RdYlGn"},
            "best_individual": {"title": "Best match"},
            "best_concordance": {"title": "Best conc.", "min": 0, "max": 1, "format": "{:,.3f}", "scale": "RdYlGn"},
            "second_individual": {"title": "Runner-up"},
            "second_concordance": {"title": "Runner-up conc.", "min": 0, "max": 1, "format": "{:,.3f}"},
            "labelled_sites": {"title": "Sites", "format": "{:,.0f}", "scale": "Blues"},
        },
        "data": {row.sample: {key: _json_value(getattr(row, key)) for key in table_keys()} for row in results.itertuples()},
    }
    with atomic_open(args.outdir / "genotype_concordance_table_mqc.json") as handle:
        json.dump(table, handle, indent=1)

    # Heatmap: libraries that are not ok first, then the others, up to --heatmap-libraries rows.
    order = results.sort_values(by=["verdict", "sample"], key=lambda s: s.eq("ok") if s.name == "verdict" else s, kind="stable")
    shown = order.head(args.heatmap_libraries)
    columns = top_candidates(shown, concordance, args.top)
    values = concordance.loc[shown["sample"], columns]
    heatmap = {
        "id": "mage_genotype_concordance_heatmap",
        "section_name": "Genotype concordance heatmap",
        "description": (
            f"Concordance of {len(shown)} libraries (those not 'ok' first) with their labelled individual and their "
            f"{args.top} best matches. A swapped library is bright away from its labelled individual."
        ),
        "plot_type": "heatmap",
        "xcats": columns,
        "ycats": list(shown["sample"]),
        "pconfig": {
            "id": "mage_genotype_concordance_heatmap_plot",
            "title": "Genotype concordance",
            "min": 0,
            "max": 1,
            "square": False,
        },
        "data": [[_json_value(v) for v in row] for row in values.to_numpy()],
    }
    with atomic_open(args.outdir / "genotype_concordance_heatmap_mqc.json") as handle:
        json.dump(heatmap, handle, indent=1)


def table_keys() -> list[str]:
    return [
        "verdict",
        "labelled_individual",
        "labelled_concordance",
        "best_individual",
        "best_concordance",
        "second_individual",
        "second_concordance",
        "labelled_sites",
    ]


def _json_value(value):
    if isinstance(value, (float, np.floating)):
        return None if not np.isfinite(value) else round(float(value), 6)
    if isinstance(value, (np.integer,)):
        return int(value)
    return value


if __name__ == "__main__":
    sys.exit(run(main))
