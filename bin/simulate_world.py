#!/usr/bin/env python3
"""Generate the simulated test world (genome, GTF, phased VCF, FASTQs, samplesheet and truth) for a seed."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from magelib.cli import parser, run
from magelib.testworld.world import WorldConfig, config_from_params, simulate_world

# option -> (WorldConfig field, help); unset options keep the value from --params or the WorldConfig default
OVERRIDES = {
    "--seed": ("seed", "random seed"),
    "--individuals": ("individuals", "number of individuals"),
    "--genes": ("autosomal_genes", "regular autosomal genes"),
    "--chrx-genes": ("chrx_genes", "regular chrX genes outside the PAR"),
    "--read-pairs": ("read_pairs", "median read pairs per library"),
    "--read-length": ("read_length", "read length"),
    "--variant-spacing": ("variant_spacing", "mean bp between background SNPs"),
}


def main(argv=None) -> None:
    p = parser(__doc__)
    p.add_argument(
        "--out",
        required=True,
        type=Path,
        default=argparse.SUPPRESS,
        help="output directory (replaced if it holds an earlier world)",
    )
    p.add_argument(
        "--params",
        type=Path,
        default=argparse.SUPPRESS,
        help="truth/params.json of an earlier world to regenerate (options below override it)",
    )
    defaults = WorldConfig()
    for option, (name, text) in OVERRIDES.items():
        p.add_argument(
            option, dest=name, type=int, default=argparse.SUPPRESS, help=f"{text} (default: {getattr(defaults, name)})"
        )
    p.add_argument(
        "--fastq-compression", type=int, default=9, help="gzip level of the FASTQs (changes bytes, not content; not recorded)"
    )
    args = vars(p.parse_args(argv))
    config = config_from_params(args["params"]) if "params" in args else defaults
    config = dataclasses.replace(config, **{name: args[name] for name, _ in OVERRIDES.values() if name in args})
    simulate_world(config, args["out"], fastq_level=args["fastq_compression"])


if __name__ == "__main__":
    sys.exit(run(main))
