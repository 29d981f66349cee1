"""fastq_check.py: counts checked against an independent reader (Python's gzip module), and every kind of bad
input fails with exit 1 and a one-line message naming the file and the record."""

from __future__ import annotations

import gzip
import json
import subprocess

import fastq_check
import pytest

from magelib.cli import InputError, run
from magelib.reads import fastq
from magelib.reads.fastq import check_fastq


def records(n: int, mate: int, start: int = 0, length: int = 20) -> list[str]:
    """n FASTQ records with names r<i>/<mate> and a comment; lengths vary with i."""
    out = []
    for i in range(start, start + n):
        size = length + i % 7
        seq = "ACGTN"[i % 5] * size
        out.append(f"@r{i}/{mate} comment {i}\n{seq}\n+\n{'F' * size}\n")
    return out


def write(path, text: str, compress: bool = True):
    if compress:
        with gzip.open(path, "wt") as handle:
            handle.write(text)
    else:
        path.write_text(text)
    return path


def pair(tmp_path, n=50, mate2=None, compress=True):
    r1 = write(tmp_path / "lib_R1.fastq.gz", "".join(records(n, 1)), compress)
    r2 = write(tmp_path / "lib_R2.fastq.gz", mate2 if mate2 is not None else "".join(records(n, 2)), compress)
    return r1, r2


def independent_summary(*paths):
    """Pair count and longest read, read with Python's gzip module line by line."""
    counts, longest = [], 0
    for path in paths:
        with gzip.open(path, "rt") as handle:
            lines = handle.read().splitlines()
        counts.append(len(lines) // 4)
        longest = max([longest] + [len(s) for s in lines[1::4]])
    assert len(set(counts)) == 1
    return counts[0], longest


def run_cli(*args, cwd=None):
    return subprocess.run(["fastq_check.py", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_help():
    proc = run_cli("--help")
    assert proc.returncode == 0 and "--sample" in proc.stdout


@pytest.mark.shared
def test_real_pair_matches_independent_count(shared_data, tmp_path):
    base = shared_data / "nfcore-test-datasets_GM12878-chr22region" / "fastq"
    r1, r2 = base / "test_rnaseq_1.fastq.gz", base / "test_rnaseq_2.fastq.gz"
    out = tmp_path / "NA12878.fastq_check.json"
    proc = run_cli(r1, r2, "--sample", "NA12878", "--out", out)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(out.read_text())
    pairs, longest = independent_summary(r1, r2)
    assert (summary["sample"], summary["read_pairs"], summary["read_length"]) == ("NA12878", pairs, longest)
    assert summary["paired"] is True


@pytest.mark.parametrize("compress", [True, False])
def test_small_blocks_and_chunks(tmp_path, monkeypatch, compress):
    # Tiny blocks and reads make every record boundary fall across chunk and block edges.
    monkeypatch.setattr(fastq, "BLOCK_RECORDS", 7)
    monkeypatch.setattr(fastq, "READ_SIZE", 13)
    r1, r2 = pair(tmp_path, n=101, compress=compress)
    summary = check_fastq(r1, r2, threaded=False)
    assert summary.read_pairs == 101
    assert summary.read_length == max(20 + i % 7 for i in range(101))


def test_multimember_gzip_crlf_and_missing_final_newline(tmp_path):
    # Concatenated gzip members (as from `cat a.gz b.gz`) are one stream; CRLF ends and a missing last newline are fine.
    r1, r2 = tmp_path / "a_R1.fastq.gz", tmp_path / "a_R2.fastq.gz"
    r1.write_bytes(gzip.compress("".join(records(10, 1)).encode()) + gzip.compress("".join(records(5, 1, start=10)).encode()))
    text2 = "".join(records(15, 2)).replace("\n", "\r\n").rstrip("\r\n")
    r2.write_bytes(gzip.compress(text2.encode()))
    assert check_fastq(r1, r2).read_pairs == 15


def test_threaded_equals_unthreaded(tmp_path):
    r1, r2 = pair(tmp_path, n=3000)
    assert check_fastq(r1, r2, threaded=True) == check_fastq(r1, r2, threaded=False)


def test_single_end(tmp_path):
    r1 = write(tmp_path / "se.fastq.gz", "".join(records(12, 1)))
    assert check_fastq(r1).read_pairs == 12


def corrupt_cases(tmp_path):
    good1, good2 = "".join(records(40, 1)), "".join(records(40, 2))
    lines2 = good2.splitlines(keepends=True)

    def without_line(index):
        return "".join(lines2[:index] + lines2[index + 1 :])

    def replace_line(index, text):
        return "".join(lines2[:index] + [text] + lines2[index + 1 :])

    compressed = gzip.compress(good2.encode() * 20)
    flipped = bytearray(compressed)
    for k in range(len(flipped) // 2, len(flipped) // 2 + 40):
        flipped[k] ^= 0x5A
    return {
        "not_four_lines": (good1, without_line(4 * 9 + 2), "record 10", "'+'"),
        "length_mismatch": (good1, replace_line(4 * 4 + 3, "FF\n"), "record 5", "differs from quality length"),
        "mate_shorter": (good1, "".join(lines2[:-4]), "record 40", "ends after 39 records"),
        "mate_longer": (good1, good2 + "".join(records(1, 2, start=40)), "record 41", "ends after 40 records"),
        "name_mismatch": (good1, replace_line(4 * 6, "@other/2\n"), "record 7", "'other' does not match mate 1 'r6'"),
        "truncated_record": (good1 + "@r40/1\nACGT\n", good2 + "@r40/2\nACGT\n", "record 41", "truncated record"),
        "bad_sequence_char": (
            good1,
            replace_line(4 * 2 + 1, "ACGTXAAAAAAAAAAAAAAAAA\n"),
            "record 3",
            "invalid sequence character 'X'",
        ),
        "bad_quality_char": (good1, replace_line(4 * 3 + 3, "F" * 22 + "\x7f\n"), "record 4", "invalid quality character"),
        "truncated_gzip": (good1, compressed[: len(compressed) // 2], "truncated gzip", "complete records"),
        "corrupt_gzip": (good1, bytes(flipped), "corrupt gzip", "complete records"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "not_four_lines",
        "length_mismatch",
        "mate_shorter",
        "mate_longer",
        "name_mismatch",
        "truncated_record",
        "bad_sequence_char",
        "bad_quality_char",
        "truncated_gzip",
        "corrupt_gzip",
    ],
)
def test_bad_input_names_file_and_record(tmp_path, case, capsys):
    text1, content2, where, what = corrupt_cases(tmp_path)[case]
    r1 = write(tmp_path / "lib_R1.fastq.gz", text1)
    r2 = tmp_path / "lib_R2.fastq.gz"
    if isinstance(content2, bytes):
        r2.write_bytes(content2)
    else:
        write(r2, content2)
    out = tmp_path / "lib.fastq_check.json"
    assert run(fastq_check.main, [str(r1), str(r2), "--sample", "lib", "--out", str(out)]) == 1
    stderr = capsys.readouterr().err
    assert stderr.startswith("ERROR: ") and len(stderr.strip().splitlines()) == 1
    assert "lib_R" in stderr and where in stderr and what in stderr, stderr
    assert not out.exists() and not list(tmp_path.glob(".*tmp*"))


def test_cli_error_exit_code(tmp_path):
    r1, r2 = pair(tmp_path, n=5, mate2="".join(records(4, 2)))
    proc = run_cli(r1, r2, "--sample", "lib", "--out", tmp_path / "x.json")
    assert proc.returncode == 1 and proc.stderr.startswith("ERROR: ") and "Traceback" not in proc.stderr


def test_empty_and_missing_files(tmp_path):
    empty = write(tmp_path / "empty.fastq.gz", "")
    with pytest.raises(InputError, match="empty.fastq.gz: no FASTQ records"):
        check_fastq(empty)
    proc = run_cli(tmp_path / "absent_R1.fastq.gz", "--sample", "x")
    assert proc.returncode == 1 and "absent_R1.fastq.gz: FASTQ file not found" in proc.stderr
