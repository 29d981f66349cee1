#!/usr/bin/env python3
"""Collate the fine-mapping chunks (MAGE §2.21): one gzipped table of each kind, the lead variant of every credible
set (the aFC input, MAGE's leadVariant table), and MultiQC content.

Inputs: the chunk files of finemap.py (PREFIX.susie.<table>.tsv), concatenated in file-name order (the chunks are
zero-padded). Outputs, for --out PREFIX: PREFIX.susie.{credible_sets,cs_summary,pip,lbf_variable,status}.tsv.gz,
PREFIX.susie.lead_variants.tsv (gene_id, variant_id, cs_id, pip), PREFIX.finemap_*_mqc.*.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd

from magelib.cli import InputError, parser, run
from magelib.qtl.outputs import read_table, write_table
from magelib.report.finemap import write_multiqc

TABLES = ("credible_sets", "cs_summary", "pip", "lbf_variable", "status")
NAME = re.compile(r"\.susie\.(" + "|".join(TABLES) + r")\.tsv$")


def build_parser():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--inputs", nargs="+", required=True, help="finemap.py chunk tables (PREFIX.susie.<table>.tsv)")
    p.add_argument("--out", required=True, help="output prefix")
    p.add_argument("--label", default="eqtl", help="QTL type shown in the MultiQC sections (eqtl, sqtl)")
    return p


def tables_by_kind(paths: list[str]) -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = {t: [] for t in TABLES}
    for path in sorted(paths, key=lambda p: Path(p).name):
        match = NAME.search(Path(path).name)
        if not match:
            raise InputError(f"{path}: not a finemap.py table (expected a name ending .susie.<{'|'.join(TABLES)}>.tsv)")
        kinds[match.group(1)].append(path)
    counts = {k: len(v) for k, v in kinds.items()}
    if len(set(counts.values())) != 1:
        raise InputError(f"every chunk must give all five tables; found {counts}")
    return kinds


def lead_variants(summary: pd.DataFrame) -> pd.DataFrame:
    return summary.rename(columns={"gene_id": "group_id", "molecular_trait_id": "gene_id", "lead_variant": "variant_id"})[
        ["gene_id", "variant_id", "cs_id", "lead_pip"]
    ]


def main(argv=None) -> None:
    args = build_parser().parse_args(argv)
    merged = {}
    for kind, paths in tables_by_kind(args.inputs).items():
        merged[kind] = pd.concat([read_table(p) for p in paths], ignore_index=True)
        write_table(merged[kind], f"{args.out}.susie.{kind}.tsv.gz")
    write_table(lead_variants(merged["cs_summary"]), f"{args.out}.susie.lead_variants.tsv")
    write_multiqc(merged["cs_summary"], merged["status"], args.out, args.label)


if __name__ == "__main__":
    sys.exit(run(main))
