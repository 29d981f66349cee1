"""Shared formats: phenotype BED round trip through bgzip/tabix, atomic writes, input checks."""

from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest

from conftest import require_tool
from magelib.cli import InputError
from magelib.io.atomic import atomic_open
from magelib.io.tables import read_covariates, read_matrix, read_phenotype_bed, write_covariates, write_phenotype_bed


def test_phenotype_bed_is_sorted_bgzipped_and_tabix_queryable(tmp_path):
    require_tool("bgzip", "tabix")
    positions = pd.DataFrame(
        {"chr": ["chr10", "chr2", "chr2", "chrX"], "start": [5, 300, 100, 7], "end": [6, 301, 101, 8]},
        index=["g10", "g2b", "g2a", "gX"],
    )
    values = pd.DataFrame(np.arange(8, dtype=float).reshape(4, 2), index=positions.index, columns=["S2", "S1"])
    path = tmp_path / "pheno.bed.gz"
    write_phenotype_bed(positions, values, path)

    # natural chromosome order (chr2 before chr10), then start
    read_positions, read_values = read_phenotype_bed(path)
    assert list(read_positions.index) == ["g2a", "g2b", "g10", "gX"]
    pd.testing.assert_frame_equal(read_values, values.loc[read_values.index], check_names=False)
    # a region query through the index returns exactly the rows in the region
    hits = subprocess.run(["tabix", str(path), "chr2:150-400"], capture_output=True, text=True, check=True).stdout
    assert [line.split("\t")[3] for line in hits.splitlines()] == ["g2b"]
    assert not list(tmp_path.glob(".*tmp*"))


def test_atomic_open_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.tsv"
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write("partial")
        raise RuntimeError("step failed")
    assert not target.exists() and not list(tmp_path.iterdir())


def test_matrix_checks_name_the_culprit(tmp_path):
    path = tmp_path / "m.tsv"
    path.write_text("gene_id\tS1\tS2\nG1\t1\t2\nG2\t3\tinf\n")
    with pytest.raises(InputError, match=r"non-finite value inf at row 'G2', column 'S2'"):
        read_matrix(path)
    path.write_text("gene_id\tS1\tS1\nG1\t1\t2\n")
    with pytest.raises(InputError, match="duplicate sample column"):
        read_matrix(path)
    path.write_text("gene_id\tS1\n")
    with pytest.raises(InputError, match="no rows"):
        read_matrix(path)


def test_covariates_round_trip(tmp_path):
    frame = pd.DataFrame([[0.5, 1.0], [1.0, 0.0]], index=["PC1", "sex"], columns=["NA1", "HG2"])
    write_covariates(frame, tmp_path / "cov.txt")
    assert (tmp_path / "cov.txt").read_text().splitlines()[0] == "id\tNA1\tHG2"
    pd.testing.assert_frame_equal(read_covariates(tmp_path / "cov.txt"), frame, check_names=False, check_dtype=False)
