#!/usr/bin/env python3
"""Infer each library's sex from XIST and chrY-gene expression and compare it with the samplesheet.

Scores: x = log2(XIST TPM + 1) and y = log2(sum of chrY-gene TPM + 1) (genes found by gene_name in the GTF).
Rule: female if XIST TPM >= --xist-min-tpm and chrY TPM < --chry-min-tpm; male if the reverse; ambiguous when both
or neither are on (XXY, a mixture of two samples, XIST erosion in a female line, loss of Y in a male one).
Verdicts: ok, mismatch (inferred female/male against the other reported sex), ambiguous, unreported (no sex in the
samplesheet), not_assessable (XIST or every chrY gene is missing from the annotation).

Outputs: a per-library TSV, a sample-status fragment (mismatch and ambiguous are flagged; IDENTITY_GATE decides
what to drop) and a MultiQC scatter plot of XIST against chrY, coloured by reported sex.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from magelib.cli import InputError, parser, run
from magelib.identity.sex import CHRY_GENES, XIST_GENES, infer_sex, marker_genes, read_sample_table, sex_scores
from magelib.io.atomic import atomic_open
from magelib.io.gtf import genes
from magelib.io.tables import read_matrix

COLOURS = {"female": "#d6604d", "male": "#4393c3", "unknown": "#999999"}
STATUS = {"ok": "kept", "unreported": "kept", "not_assessable": "kept", "mismatch": "flagged", "ambiguous": "flagged"}


def main(argv=None) -> None:
    p = parser(__doc__)
    p.add_argument("--tpm", type=Path, required=True, help="gene TPM matrix (genes x libraries, first column gene_id)")
    p.add_argument("--gtf", type=Path, required=True, help="annotation giving gene_name for each gene_id")
    p.add_argument("--samples", type=Path, required=True, help="sample table: sample, individual, sex, ...")
    p.add_argument("--xist-genes", default=",".join(XIST_GENES), help="comma-separated gene names of the female marker")
    p.add_argument("--chry-genes", default=",".join(CHRY_GENES), help="comma-separated gene names of the chrY markers (summed)")
    p.add_argument("--xist-min-tpm", type=float, default=5.0, help="XIST is 'on' at or above this TPM")
    p.add_argument("--chry-min-tpm", type=float, default=5.0, help="the chrY genes are 'on' at or above this summed TPM")
    p.add_argument("--out", type=Path, default=Path("sex_check.tsv"), help="per-library results")
    p.add_argument("--status", type=Path, default=Path("sexcheck.status.tsv"), help="sample-status fragment")
    p.add_argument("--mqc", type=Path, default=Path("sex_check_mqc.json"), help="MultiQC scatter plot")
    args = p.parse_args(argv)

    tpm = read_matrix(args.tpm)
    samples = read_sample_table(args.samples)
    unknown = [lib for lib in tpm.columns if lib not in samples.index]
    if unknown:
        raise InputError(f"{args.tpm}: library '{unknown[0]}' is not in the sample table {args.samples}")
    gene_table = genes(args.gtf)
    xist_ids = marker_genes(gene_table, _names(args.xist_genes))
    chry_ids = marker_genes(gene_table, _names(args.chry_genes))
    results = check(tpm, samples, xist_ids, chry_ids, args.xist_min_tpm, args.chry_min_tpm)

    with atomic_open(args.out) as handle:
        results.to_csv(handle, sep="\t", index=False, float_format="%.10g")
    with atomic_open(args.status) as handle:
        handle.write("sample\tstep\tstatus\treason\n")
        for row in results.itertuples():
            handle.write(f"{row.sample}\tsex_check\t{STATUS[row.verdict]}\t{row.verdict}: {row.reason}\n")
    with atomic_open(args.mqc) as handle:
        json.dump(multiqc_scatter(results, args), handle, indent=1)
    counts = results["verdict"].value_counts()
    print(f"{len(results)} libraries: " + ", ".join(f"{n} {v}" for v, n in counts.items()), file=sys.stderr)


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def check(
    tpm: pd.DataFrame, samples: pd.DataFrame, xist_ids: list[str], chry_ids: list[str], xist_min: float, chry_min: float
) -> pd.DataFrame:
    """One row per library of the TPM matrix: scores, inferred sex and verdict."""
    scores = sex_scores(tpm, xist_ids, chry_ids)
    inferred = infer_sex(scores, xist_min, chry_min)
    reported = samples.loc[tpm.columns, "sex"]
    table = pd.DataFrame(
        {
            "sample": tpm.columns,
            "individual": samples.loc[tpm.columns, "individual"].to_numpy(),
            "reported_sex": reported.to_numpy(),
            "xist_tpm": 2.0 ** scores["xist_log2tpm"].to_numpy() - 1.0,
            "chry_tpm": 2.0 ** scores["chry_log2tpm"].to_numpy() - 1.0,
            "xist_log2tpm": scores["xist_log2tpm"].to_numpy(),
            "chry_log2tpm": scores["chry_log2tpm"].to_numpy(),
            "inferred_sex": inferred.to_numpy(),
        }
    )
    missing = [what for what, ids in (("XIST", xist_ids), ("chrY genes", chry_ids)) if not ids]
    verdicts, reasons = [], []
    for row in table.itertuples():
        detail = f"XIST {row.xist_tpm:.3g} TPM, chrY {row.chry_tpm:.3g} TPM"
        if missing:
            verdict, reason = "not_assessable", f"{' and '.join(missing)} not in the annotation"
            table.loc[row.Index, "inferred_sex"] = "NA"
        elif row.inferred_sex == "ambiguous":
            verdict, reason = "ambiguous", f"{detail}: neither clearly female nor clearly male"
        elif row.reported_sex == "unknown":
            verdict, reason = "unreported", f"{detail}: inferred {row.inferred_sex}, no sex in the samplesheet"
        elif row.inferred_sex != row.reported_sex:
            verdict, reason = "mismatch", f"{detail}: expression says {row.inferred_sex}, samplesheet says {row.reported_sex}"
        else:
            verdict, reason = "ok", f"{detail}: {row.inferred_sex}"
        verdicts.append(verdict)
        reasons.append(reason)
    table["verdict"] = verdicts
    table["reason"] = reasons
    return table


def multiqc_scatter(results: pd.DataFrame, args) -> dict:
    return {
        "id": "mage_sex_check",
        "section_name": "Sex check",
        "description": (
            "log2(XIST TPM + 1) against log2(summed chrY-gene TPM + 1), coloured by the sex in the samplesheet "
            f"(female red, male blue). Thresholds: XIST {args.xist_min_tpm} TPM, chrY {args.chry_min_tpm} TPM. "
            "A library in the other sex's corner is a labelling error or a sample swap."
        ),
        "plot_type": "scatter",
        "pconfig": {
            "id": "mage_sex_check_scatter",
            "title": "Sex check: XIST vs chrY expression",
            "xlab": "log2(XIST TPM + 1)",
            "ylab": "log2(chrY TPM + 1)",
        },
        "data": {
            row.sample: {"x": _round(row.xist_log2tpm), "y": _round(row.chry_log2tpm), "color": COLOURS[row.reported_sex]}
            for row in results.itertuples()
        },
    }


def _round(value: float) -> float:
    return round(float(value), 6) if np.isfinite(value) else 0.0


if __name__ == "__main__":
    sys.exit(run(main))
