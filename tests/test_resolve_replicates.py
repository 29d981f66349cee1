"""resolve_replicates.py: focal library by most read pairs (ties, 'first'), columns renamed to individuals, counts
summed over replicates (closed form), only gate-passing libraries used, bad input, and MAGE's HG00237 example."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pandas as pd
import pytest
import resolve_replicates

from magelib.cli import run

# Two individuals with replicates (A: three libraries, B: two with equal depth), one singleton.
LIBRARIES = [
    ("A1", "A", 26_220_000),
    ("A2", "A", 31_650_000),
    ("A3", "A", 34_760_000),
    ("B1", "B", 100),
    ("B2", "B", 100),
    ("C1", "C", 5),
]


@pytest.fixture
def world(tmp_path):
    rng = np.random.default_rng(1)
    names = [lib for lib, _, _ in LIBRARIES]
    genes = [f"G{i}" for i in range(6)]
    counts = pd.DataFrame(rng.integers(0, 100, size=(6, len(names))).astype(float), index=genes, columns=names)
    tpm = counts / counts.sum() * 1e6
    lengths = pd.DataFrame(rng.uniform(500, 3000, size=(6, len(names))), index=genes, columns=names)
    for name, frame in (("counts", counts), ("tpm", tpm), ("lengths", lengths)):
        frame.to_csv(tmp_path / f"{name}.tsv", sep="\t", index_label="gene_id", float_format="%.10g")
    samples = pd.DataFrame({"sample": names, "individual": [ind for _, ind, _ in LIBRARIES], "sex": "female"})
    samples.to_csv(tmp_path / "samples.tsv", sep="\t", index=False)
    for lib, _, pairs in LIBRARIES:
        (tmp_path / f"{lib}.fastq_check.json").write_text(json.dumps({"sample": lib, "read_pairs": pairs, "read_length": 150}))
    return tmp_path, counts, tpm, lengths


def resolve(tmp_path, *extra, read_pairs=None):
    read_pairs = read_pairs or [str(tmp_path / f"{lib}.fastq_check.json") for lib, _, _ in LIBRARIES]
    argv = [
        "--counts",
        "counts.tsv",
        "--tpm",
        "tpm.tsv",
        "--lengths",
        "lengths.tsv",
        "--samples",
        "samples.tsv",
        "--outdir",
        "out",
    ]
    argv = [str(tmp_path / a) if a.endswith(".tsv") or a == "out" else a for a in argv]
    return run(resolve_replicates.main, argv + ["--read-pairs", *read_pairs, *extra])


def read(tmp_path, name):
    return pd.read_csv(tmp_path / "out" / name, sep="\t", index_col=0)


def test_help():
    proc = subprocess.run(["resolve_replicates.py", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "max_reads" in proc.stdout


def test_max_reads_as_mage(world):
    """MAGE §1: HG00237's libraries have 26.22, 31.65 and 34.76 M reads, so the third one is used."""
    tmp_path, counts, tpm, lengths = world
    assert resolve(tmp_path) == 0
    focal = pd.read_csv(tmp_path / "out" / "focal_libraries.tsv", sep="\t", index_col="individual")
    assert focal["library"].to_dict() == {"A": "A3", "B": "B1", "C": "C1"}  # B: a tie goes to the first listed
    assert focal.at["A", "read_pairs"] == 34_760_000 and focal.at["A", "n_libraries"] == 3
    assert focal.at["C", "reason"] == "only library"
    # Focal matrices: the chosen library's column under the individual's name
    expected = counts[["A3", "B1", "C1"]].set_axis(["A", "B", "C"], axis=1).rename_axis("gene_id")
    pd.testing.assert_frame_equal(read(tmp_path, "gene_counts.focal.tsv"), expected, check_dtype=False)
    np.testing.assert_allclose(read(tmp_path, "gene_tpm.focal.tsv").to_numpy(), tpm[["A3", "B1", "C1"]].to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(read(tmp_path, "gene_lengths.focal.tsv")["A"], lengths["A3"], rtol=1e-9)
    # Collapsed counts: the sum over each individual's libraries
    collapsed = read(tmp_path, "gene_counts.collapsed.tsv")
    assert list(collapsed.columns) == ["A", "B", "C"]
    np.testing.assert_allclose(collapsed["A"], counts[["A1", "A2", "A3"]].sum(axis=1))
    np.testing.assert_allclose(collapsed["B"], counts["B1"] + counts["B2"])
    status = pd.read_csv(tmp_path / "out" / "replicates.status.tsv", sep="\t", index_col="sample")
    assert status["status"].to_dict() == {
        "A1": "dropped",
        "A2": "dropped",
        "A3": "kept",
        "B1": "kept",
        "B2": "dropped",
        "C1": "kept",
    }
    assert status.at["A1", "reason"] == "replicate of A, fewer reads (26220000 < 34760000 read pairs in A3)"
    assert "as many reads as B1" in status.at["B2", "reason"]


def test_first_selection(world):
    tmp_path, counts, _, _ = world
    assert resolve(tmp_path, "--selection", "first") == 0
    focal = pd.read_csv(tmp_path / "out" / "focal_libraries.tsv", sep="\t", index_col="individual")
    assert focal["library"].to_dict() == {"A": "A1", "B": "B1", "C": "C1"}
    pd.testing.assert_series_equal(
        read(tmp_path, "gene_counts.focal.tsv")["A"], counts["A1"], check_names=False, check_dtype=False
    )


def test_only_passing_libraries(world):
    """A3 failed the identity gate: A falls back to A2, and A3's counts are not summed."""
    tmp_path, counts, _, _ = world
    passing = pd.DataFrame({"sample": ["A1", "A2", "B2", "C1"], "individual": ["A", "A", "B", "C"], "status": "kept"})
    passing.to_csv(tmp_path / "passing.tsv", sep="\t", index=False)
    assert resolve(tmp_path, "--passing", str(tmp_path / "passing.tsv")) == 0
    focal = pd.read_csv(tmp_path / "out" / "focal_libraries.tsv", sep="\t", index_col="individual")
    assert focal["library"].to_dict() == {"A": "A2", "B": "B2", "C": "C1"}
    np.testing.assert_allclose(read(tmp_path, "gene_counts.collapsed.tsv")["A"], counts["A1"] + counts["A2"])
    status = pd.read_csv(tmp_path / "out" / "replicates.status.tsv", sep="\t")
    assert set(status["sample"]) == {"A1", "A2", "B2", "C1"}


def test_read_pairs_from_tsv(world):
    tmp_path, _, _, _ = world
    table = pd.DataFrame({"sample": [lib for lib, _, _ in LIBRARIES], "read_pairs": [1, 2, 3, 9, 1, 1]})
    table.to_csv(tmp_path / "pairs.tsv", sep="\t", index=False)
    assert resolve(tmp_path, read_pairs=[str(tmp_path / "pairs.tsv")]) == 0
    focal = pd.read_csv(tmp_path / "out" / "focal_libraries.tsv", sep="\t", index_col="individual")
    assert focal["library"].to_dict() == {"A": "A3", "B": "B1", "C": "C1"}


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing_pairs", "no read-pair count for library 'C1'"),
        ("bad_pairs", "read_pairs '-3' of library 'C1' is not a count"),
        ("matrix_missing_library", "library 'C1' is not a column of the matrix"),
        ("unknown_passing", "library 'Z9' is not in the sample table"),
        ("duplicate_pairs", "library 'A1' has read pairs in two places"),
    ],
)
def test_bad_input(world, capsys, case, expected):
    tmp_path, counts, _, _ = world
    extra, pairs = [], None
    if case == "missing_pairs":
        pairs = [str(tmp_path / f"{lib}.fastq_check.json") for lib, _, _ in LIBRARIES[:-1]]
    elif case == "bad_pairs":
        (tmp_path / "C1.fastq_check.json").write_text(json.dumps({"sample": "C1", "read_pairs": -3}))
    elif case == "matrix_missing_library":
        counts.drop(columns="C1").to_csv(tmp_path / "tpm.tsv", sep="\t", index_label="gene_id")
    elif case == "unknown_passing":
        pd.DataFrame({"sample": ["A1", "Z9"]}).to_csv(tmp_path / "passing.tsv", sep="\t", index=False)
        extra = ["--passing", str(tmp_path / "passing.tsv")]
    else:
        pairs = [str(tmp_path / f"{lib}.fastq_check.json") for lib, _, _ in LIBRARIES] + [str(tmp_path / "A1.fastq_check.json")]
    assert resolve(tmp_path, *extra, read_pairs=pairs) == 1
    assert expected in capsys.readouterr().err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())  # nothing half-written
