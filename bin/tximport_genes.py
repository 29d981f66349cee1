#!/usr/bin/env python3
"""Aggregate all libraries' Salmon quant.sf to gene counts, TPM and lengths (R tximport semantics, type salmon,
countsFromAbundance "no"), and write a MultiQC general-statistics table (read pairs, Salmon mapping rate, genes
detected).

Each quant directory is named by its library ID and holds quant.sf and aux_info/meta_info.json. Outputs (genes x
libraries, first column gene_id, libraries sorted by ID): gene_counts.tsv, gene_tpm.tsv, gene_lengths.tsv.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from magelib.cli import InputError, parser, run
from magelib.io.atomic import atomic_open
from magelib.io.gtf import tx2gene
from magelib.io.tables import check_unique, write_matrix
from magelib.reads.tximport import LENGTH_COLUMNS, GeneMatrices, summarise

DETECTED_TPM = 0.1  # the expression filter's TPM threshold, used for the "genes detected" column


def quant_files(dirs: list[Path]) -> dict[str, Path]:
    """Library ID (directory name) -> quant.sf, sorted by ID."""
    check_unique([d.name for d in dirs], "library (quant directory name)", "--quant")
    files = {}
    for directory in sorted(dirs, key=lambda d: d.name):
        path = directory / "quant.sf"
        if not path.is_file():
            raise InputError(f"{directory}: no quant.sf in this Salmon output directory")
        files[directory.name] = path
    return files


def read_pairs(paths: list[Path]) -> dict[str, int]:
    """Library ID -> read pairs from fastq_check.py summaries."""
    pairs = {}
    for path in paths:
        try:
            record = json.loads(path.read_text())
            pairs[str(record["sample"])] = int(record["read_pairs"])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise InputError(f"{path}: not a fastq_check.py summary ({err})") from err
    return pairs


def mapping_stats(directory: Path) -> dict[str, float]:
    path = directory / "aux_info" / "meta_info.json"
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text())
        return {"fragments_processed": int(info["num_processed"]), "percent_mapped": float(info["percent_mapped"])}
    except (ValueError, KeyError, TypeError) as err:
        raise InputError(f"{path}: not a Salmon meta_info.json ({err})") from err


def quant_summary(matrices: GeneMatrices, dirs: dict[str, Path], pairs: dict[str, int]) -> pd.DataFrame:
    rows = []
    for sample in matrices.samples:
        row = {"Sample": sample, "read_pairs": pairs.get(sample)}
        row.update(mapping_stats(dirs[sample]))
        rows.append(row)
    table = pd.DataFrame(rows).set_index("Sample")
    table["genes_detected"] = (matrices.tpm >= DETECTED_TPM).sum(axis=0)
    return table.dropna(axis=1, how="all")


def write_multiqc(table: pd.DataFrame, path: Path) -> None:
    titles = {
        "read_pairs": ("Read pairs", "Read pairs in the validated FASTQ (fastq_check.py)", "Blues", "{:,.0f}"),
        "fragments_processed": ("Salmon fragments", "Fragments Salmon processed", "Greens", "{:,.0f}"),
        "percent_mapped": ("% mapped", "Salmon mapping rate", "RdYlGn", "{:,.1f}"),
        "genes_detected": (f"Genes TPM≥{DETECTED_TPM}", f"Genes with TPM ≥ {DETECTED_TPM}", "Purples", "{:,.0f}"),
    }
    header = [
        "# id: 'mage_quant_summary'",
        "# section_name: 'Quantification summary'",
        "# description: 'Read pairs per library, the Salmon mapping rate and the number of genes detected after tximport.'",
        "# plot_type: 'generalstats'",
        "# pconfig:",
    ]
    for column in table.columns:
        title, description, scale, fmt = titles[column]
        header += [
            f"#     - {column}:",
            f"#         title: '{title}'",
            f"#         description: '{description}'",
            f"#         scale: '{scale}'",
            f"#         format: '{fmt}'",
        ]
        if column == "percent_mapped":
            header += ["#         min: 0", "#         max: 100", "#         suffix: '%'"]
    with atomic_open(path) as handle:
        handle.write("\n".join(header) + "\n")
        table.to_csv(handle, sep="\t", float_format="%.10g")


def main(argv=None) -> None:
    p = parser(__doc__)
    p.add_argument("--quant", nargs="+", type=Path, required=True, help="Salmon output directories, named by library ID")
    p.add_argument("--gtf", type=Path, required=True, help="GTF whose transcript records give transcript -> gene")
    p.add_argument(
        "--length-col",
        choices=LENGTH_COLUMNS,
        default="EffectiveLength",
        help="quant.sf column averaged into gene lengths (tximport type='salmon' always uses EffectiveLength)",
    )
    p.add_argument(
        "--drop-unknown-transcripts",
        action="store_true",
        help="drop quant.sf transcripts absent from the GTF (with a count in the log) instead of failing",
    )
    p.add_argument("--read-pairs", nargs="*", type=Path, default=[], help="fastq_check.py JSON summaries (for MultiQC)")
    p.add_argument("--outdir", type=Path, default=Path("."), help="output directory")
    args = p.parse_args(argv)

    files = quant_files(args.quant)
    matrices = summarise(files, tx2gene(args.gtf), args.length_col, args.drop_unknown_transcripts)
    args.outdir.mkdir(parents=True, exist_ok=True)
    write_matrix(matrices.frame("counts"), args.outdir / "gene_counts.tsv")
    write_matrix(matrices.frame("tpm"), args.outdir / "gene_tpm.tsv")
    write_matrix(matrices.frame("length"), args.outdir / "gene_lengths.tsv")
    directories = {d.name: d for d in args.quant}
    write_multiqc(quant_summary(matrices, directories, read_pairs(args.read_pairs)), args.outdir / "quant_summary_mqc.tsv")
    print(f"{len(matrices.genes)} genes x {len(matrices.samples)} libraries (length column {args.length_col})", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(run(main))
