"""REPLICATES_RESOLVE rendered and run: staged read-pair JSONs (as FASTQ_VALIDATE names them), the gate's passing
list, and the outputs the subworkflow emits."""

from __future__ import annotations

import json

import pandas as pd

from conftest import run_replicates_resolve
from nftools.render import render_process

MODULE = "modules/local/replicates/resolve/main.nf"


def test_resolve(tmp_path):
    libraries = {"A": ("IA", 10), "A-7-1": ("IA", 30), "A-7-2": ("IA", 20), "B": ("IB", 5)}
    (tmp_path / "read_pairs").mkdir()
    for lib, (_, pairs) in libraries.items():
        (tmp_path / "read_pairs" / f"{lib}.fastq_check.json").write_text(
            json.dumps({"sample": lib, "read_pairs": pairs, "read_length": 50})
        )
    matrix = pd.DataFrame({lib: [i + 1.0, 2.0 * i] for i, lib in enumerate(libraries)}, index=["G1", "G2"])
    for name in ("gene_counts", "gene_tpm", "gene_lengths"):
        matrix.to_csv(tmp_path / f"{name}.tsv", sep="\t", index_label="gene_id")
    samples = pd.DataFrame({"sample": list(libraries), "individual": [v[0] for v in libraries.values()]})
    samples.to_csv(tmp_path / "samples.tsv", sep="\t", index=False)
    samples[samples["sample"] != "A-7-1"].to_csv(
        tmp_path / "identity_passing.tsv", sep="\t", index=False
    )  # A-7-1 failed the gate
    run_replicates_resolve(tmp_path, libraries)
    focal = pd.read_csv(tmp_path / "focal_libraries.tsv", sep="\t", index_col="individual")
    assert focal["library"].to_dict() == {"IA": "A-7-2", "IB": "B"}
    collapsed = pd.read_csv(tmp_path / "gene_counts.collapsed.tsv", sep="\t", index_col="gene_id")
    assert collapsed.at["G1", "IA"] == matrix.at["G1", "A"] + matrix.at["G1", "A-7-2"]


def test_stub(tmp_path):
    inputs = {
        "counts": "c.tsv",
        "tpm": "t.tsv",
        "lengths": "l.tsv",
        "read_pairs": ["read_pairs/a.json"],
        "passing": "p.tsv",
        "samples": "s.tsv",
    }
    r = render_process(MODULE, inputs=inputs, stub=True)
    r.run(tmp_path)
    r.check_outputs(tmp_path)
