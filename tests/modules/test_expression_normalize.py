"""EXPRESSION_NORMALIZE: the rendered script on a small hand-made GTF and matrices; outputs, versions, stub and errors."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from nftools.render import render_process

MODULE = "modules/local/expression/normalize/main.nf"
EXT = {"prefix": "expression", "args": "--min-counts 6 --min-tpm 0.1 --min-sample-frac 0.2 --chromosomes autosomes_x"}
GENES = [
    ("gA", "chr1", 1000, 2000, "+"),
    ("gB", "chr1", 5000, 6000, "-"),
    ("gC", "chr2", 300, 900, "+"),
    ("gX", "chrX", 100, 400, "-"),
    ("gY", "chrY", 10, 50, "+"),
    ("gLow", "chr2", 8000, 9000, "+"),
]
SAMPLES = ["NA3", "NA1", "NA2", "NA5", "NA4", "NA6"]


@pytest.fixture
def workdir(tmp_path):
    rng = np.random.default_rng(0)
    ids = [g[0] for g in GENES]
    counts = np.outer(rng.uniform(50, 500, len(ids)), rng.uniform(0.5, 2, len(SAMPLES))) + rng.uniform(
        0, 1, (len(ids), len(SAMPLES))
    )
    counts[ids.index("gLow")] = 0.5
    lengths = np.outer(rng.uniform(500, 3000, len(ids)), np.ones(len(SAMPLES)))
    tpm = counts / lengths / (counts / lengths).sum(axis=0) * 1e6
    for name, values in (("counts", counts), ("tpm", tpm), ("lengths", lengths)):
        pd.DataFrame(values, index=pd.Index(ids, name="gene_id"), columns=SAMPLES).to_csv(tmp_path / f"{name}.tsv", sep="\t")
    lines = [f'{c}\tT\tgene\t{s}\t{e}\t.\t{st}\t.\tgene_id "{g}"; gene_name "{g}";' for g, c, s, e, st in GENES]
    (tmp_path / "genes.gtf").write_text("\n".join(lines) + "\n")
    return tmp_path


INPUTS = {"meta": {"id": "expression"}, "counts": "counts.tsv", "tpm": "tpm.tsv", "lengths": "lengths.tsv", "gtf": "genes.gtf"}


def test_script_writes_the_four_beds(workdir):
    rendered = render_process(MODULE, inputs=INPUTS, ext=EXT)
    assert "--lengths lengths.tsv" in rendered.script
    rendered.run(workdir)
    rendered.check_outputs(workdir)
    for name in ("inverse_normal_tmm", "tmm", "counts", "deseq2_log2"):
        with gzip.open(workdir / f"expression.{name}.bed.gz", "rt") as handle:
            bed = pd.read_csv(handle, sep="\t")
        assert bed["phenotype_id"].tolist() == ["gA", "gB", "gC", "gX"]
        assert list(bed.columns[4:]) == sorted(SAMPLES)
    versions = (workdir / "versions.yml").read_text()
    assert '"EXPRESSION_NORMALIZE":' in versions and "magelib: 0." in versions and "python: 3." in versions


def test_script_without_lengths(workdir):
    rendered = render_process(MODULE, inputs={**INPUTS, "lengths": []}, ext=EXT)
    assert "--lengths" not in rendered.script
    rendered.run(workdir)
    rendered.check_outputs(workdir)


def test_script_fails_with_a_clear_error(workdir):
    counts = pd.read_csv(workdir / "counts.tsv", sep="\t", index_col=0)
    counts.rename(index={"gC": "gMissing"}).to_csv(workdir / "counts.tsv", sep="\t")
    proc = render_process(MODULE, inputs=INPUTS, ext=EXT).run(workdir, check=False)
    assert proc.returncode == 1 and "ERROR: counts.tsv: gene 'gMissing' is absent from the GTF genes.gtf" in proc.stderr


def test_stub(tmp_path):
    rendered = render_process(MODULE, inputs=INPUTS, ext=EXT, stub=True)
    rendered.run(tmp_path)
    rendered.check_outputs(tmp_path)
