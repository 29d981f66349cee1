"""Sample-status merge: a drop at any step drops the library, every reason is kept, bad fragments are named."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

from conftest import BIN

HEADER = "sample\tstep\tstatus\treason\n"


def merge(tmp_path, fragments: dict[str, str]):
    (tmp_path / "samples.tsv").write_text("sample\tindividual\nL1\tI1\nL2\tI2\nL3\tI2\n")
    paths = []
    for name, body in fragments.items():
        (tmp_path / name).write_text(HEADER + body)
        paths.append(str(tmp_path / name))
    cmd = [sys.executable, str(BIN / "sample_status.py"), "--samples", str(tmp_path / "samples.tsv"),
           "--out", str(tmp_path / "status.tsv"), "--multiqc", str(tmp_path / "status_mqc.tsv"), *paths]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True)


def test_worst_status_wins_and_reasons_are_kept(tmp_path):
    proc = merge(tmp_path, {
        "a.status.tsv": "L1\tsamplesheet\tkept\t\nL2\tsamplesheet\tkept\t\nL3\tsamplesheet\tkept\t\n",
        "b.status.tsv": "L2\tstrandedness\tflagged\treverse, not unstranded\nL3\tstrandedness\tflagged\tlow depth\n",
        "c.status.tsv": "L3\tidentity\tdropped\tswap: RNA matches I9\n",
    })  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(tmp_path / "status.tsv", sep="\t", index_col="sample")
    assert table["status"].to_dict() == {"L1": "kept", "L2": "flagged", "L3": "dropped"}
    assert table.loc["L3", "steps"] == "strandedness,identity"
    assert "identity: swap: RNA matches I9" in table.loc["L3", "reason"] and "low depth" in table.loc["L3", "reason"]
    assert (tmp_path / "status_mqc.tsv").read_text().startswith("# id: 'mage_sample_status'")


def test_unknown_library_and_bad_status_are_named(tmp_path):
    proc = merge(tmp_path, {"a.status.tsv": "L9\tidentity\tdropped\tswap\n"})
    assert proc.returncode == 1 and "'L9'" in proc.stderr and "not in the sample table" in proc.stderr
    proc = merge(tmp_path, {"a.status.tsv": "L1\tidentity\tkept\t\nL2\tidentity\tmaybe\t\n"})
    assert proc.returncode == 1 and "line 3" in proc.stderr and "'maybe'" in proc.stderr
    assert not (tmp_path / "status.tsv").exists()
