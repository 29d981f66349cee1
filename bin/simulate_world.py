#!/usr/bin/env python3
"""Generate the simulated test world (genome, GTF, phased VCF, FASTQs, samplesheet and truth) for a seed."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from magelib.cli import parser, run
from magelib.simulate import WorldConfig, config_from_params, simulate_world

DEFAULTS = WorldConfig()


def main(argv=None) -> None:
    p = parser(__doc__)
    p.add_argument("--out", required=True, type=Path, help="output directory (replaced if it holds an earlier world)")
    p.add_argument("--params", type=Path, help="truth/params.json of an earlier world: regenerate it (other options override)")
    p.add_argument("--seed", type=int, help=f"random seed (default {DEFAULTS.seed})")
    p.add_argument("--individuals", type=int, help=f"number of individuals (default {DEFAULTS.individuals})")
    p.add_argument("--genes", type=int, help=f"regular autosomal genes (default {DEFAULTS.autosomal_genes})")
    p.add_argument("--chrx-genes", type=int, help=f"regular chrX genes outside the PAR (default {DEFAULTS.chrx_genes})")
    p.add_argument("--read-pairs", type=int, help=f"median read pairs per library (default {DEFAULTS.read_pairs})")
    p.add_argument("--read-length", type=int, help=f"read length (default {DEFAULTS.read_length})")
    p.add_argument("--variant-spacing", type=int, help=f"mean bp between background SNPs (default {DEFAULTS.variant_spacing})")
    args = p.parse_args(argv)
    config = config_from_params(args.params) if args.params else WorldConfig()
    overrides = {
        "seed": args.seed,
        "individuals": args.individuals,
        "autosomal_genes": args.genes,
        "chrx_genes": args.chrx_genes,
        "read_pairs": args.read_pairs,
        "read_length": args.read_length,
        "variant_spacing": args.variant_spacing,
    }
    config = dataclasses.replace(config, **{k: v for k, v in overrides.items() if v is not None})
    simulate_world(config, args.out)


if __name__ == "__main__":
    sys.exit(run(main))
