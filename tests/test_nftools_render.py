"""The module script renderer (tests/nftools/render.py) on fixture processes in tests/fixtures/nf_render/.

Expectations come from Nextflow's documented behaviour (path lists render space-separated, task.memory prints like
"4 GB" and converts with toGiga() rounding down, `\\$` is a literal dollar, indentation is stripped) and from bash
running the rendered script, never from the renderer's own output.
"""

from __future__ import annotations

import pytest

from nftools.groovy import REPO
from nftools.render import RenderError, render_process

DEMO = "tests/fixtures/nf_render/demo/main.nf"
SINGLE = "tests/fixtures/nf_render/single/main.nf"
META = {"id": "lib1", "single_end": False}


def render_echo(tmp_path, reads=("a_1.fq", "a_2.fq"), index="genome.idx.tar.gz", **kwargs):
    names = [reads] if isinstance(reads, str) else list(reads)
    for name in [*names, index]:
        (tmp_path / name).write_text("x\n")
    inputs = {"meta": META, "reads": reads if isinstance(reads, str) else list(reads), "index": index}
    return render_process(DEMO, inputs=inputs, process="ECHO_INPUTS", **kwargs)


def report(tmp_path, prefix="lib1") -> dict[str, str]:
    lines = (tmp_path / f"{prefix}.txt").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines)


def test_path_list_renders_space_separated_and_indexes(tmp_path):
    r = render_echo(tmp_path)
    assert "printf '%s\\n' a_1.fq a_2.fq > lib1.reads.txt" in r.script
    r.run(tmp_path)
    assert (tmp_path / "lib1.reads.txt").read_text().split() == ["a_1.fq", "a_2.fq"]
    got = report(tmp_path)
    assert got["reads"] == "a_1.fq a_2.fq"
    assert got["first"] == "a_1.fq"
    assert got["index"] == "genome.idx.tar.gz base=genome.idx.tar simple=genome ext=gz"


@pytest.mark.parametrize("reads", ["only.fq", ["only.fq"]])
def test_single_path_renders_as_its_name(tmp_path, reads):
    render_echo(tmp_path, reads=reads).run(tmp_path)
    got = report(tmp_path)
    assert got["reads"] == "only.fq"
    assert got["first"] == "only.fq"


def test_ext_args_default_to_empty_and_prefix_to_meta_id(tmp_path):
    r = render_echo(tmp_path, ext=None)
    assert r.outputs["txt"] == ["lib1.txt"]
    r.run(tmp_path)
    assert report(tmp_path)["args"] == "[]"


def test_ext_args_and_prefix_are_used(tmp_path):
    r = render_echo(tmp_path, ext={"args": "--fast --k 31", "prefix": "custom"})
    assert r.outputs["txt"] == ["custom.txt"]
    r.run(tmp_path)
    assert report(tmp_path, "custom")["args"] == "[--fast --k 31]"
    r.check_outputs(tmp_path)


@pytest.mark.parametrize(
    ("memory", "printed", "nbytes"),
    [
        ("4 GB", "4 GB", 4 * 2**30),
        ("1536 MB", "1.5 GB", 1536 * 2**20),
        ("6.GB", "6 GB", 6 * 2**30),
        ("512 KB", "512 KB", 512 * 2**10),
    ],
)
def test_task_memory_prints_and_converts_like_nextflow(tmp_path, memory, printed, nbytes):
    render_echo(tmp_path, memory=memory, cpus=3).run(tmp_path)
    got = report(tmp_path)
    assert got["cpus"] == "3"
    # MemoryUnit conversions truncate: toGiga() of 1.5 GB is 1.
    expected = f"{printed} giga={nbytes // 2**30} mega={nbytes // 2**20} kilo={nbytes // 2**10} bytes={nbytes}"
    assert got["memory"] == expected


def test_escaped_dollar_is_left_to_bash(tmp_path):
    r = render_echo(tmp_path)
    assert 'echo "answer=$((6 * 7))"' in r.script
    r.run(tmp_path)
    assert report(tmp_path)["answer"] == "42"


def test_script_is_dedented_with_a_bash_shebang_so_heredocs_close(tmp_path):
    r = render_echo(tmp_path)
    assert r.script.startswith("#!/bin/bash -euo pipefail\nprintf")
    r.run(tmp_path)
    versions = (tmp_path / "versions.yml").read_text().splitlines()
    assert versions[0] == '"ECHO_INPUTS":'
    assert versions[1].startswith("    bash: ") and versions[1] != "    bash: "


def test_bin_is_first_on_path(tmp_path):
    render_echo(tmp_path).run(tmp_path)
    assert report(tmp_path)["path"].split(":")[0] == str(REPO / "bin")


def test_path_with_special_characters_is_shell_escaped(tmp_path):
    (tmp_path / "my table (v2).tsv").write_text("a\nb\nc\n")
    r = render_process(DEMO, inputs={"table": "my table (v2).tsv"}, process="COUNT_LINES")
    assert r"wc -l < my\ table\ \(v2\).tsv > lines.txt" in r.script
    r.run(tmp_path)
    assert (tmp_path / "lines.txt").read_text().strip() == "3"


def test_stub_section_renders_and_creates_the_declared_outputs(tmp_path):
    r = render_echo(tmp_path, stub=True, ext={"prefix": "stubbed"})
    assert "touch stubbed.txt" in r.script
    assert "printf" not in r.script
    r.run(tmp_path)
    r.check_outputs(tmp_path)
    assert (tmp_path / "stubbed.txt").exists()


def test_output_patterns_emits_and_optional(tmp_path):
    r = render_process(DEMO, inputs={"meta": META}, ext={"prefix": "s1"}, process="OUTPUT_PATTERNS")
    assert r.outputs == {
        "bam": ["s1.bam", "s1.bam.bai"],
        "log": ["*.log"],
        "tables": ["s1.{json,tsv}"],
        "out[3]": ["extra.txt"],
        "meta_only": [],
        "versions": ["versions.yml"],
    }
    assert r.optional == {"log"}
    assert len(r.missing_outputs(tmp_path)) == 5  # every pattern of the 4 non-optional path outputs
    r.run(tmp_path)
    r.check_outputs(tmp_path)  # no *.log: optional
    (tmp_path / "s1.tsv").unlink()
    r.check_outputs(tmp_path)  # like Nextflow's glob, one of the brace alternatives is enough
    (tmp_path / "s1.json").unlink()
    with pytest.raises(AssertionError, match=r"tables: s1\.\{json,tsv\}"):
        r.check_outputs(tmp_path)


def test_failing_script_surfaces_exit_code_and_stderr(tmp_path):
    r = render_process(DEMO, inputs={"code": 3}, process="FAIL_LOUDLY")
    with pytest.raises(AssertionError, match=r"exited with 3(.|\n)*about to fail with 3"):
        r.run(tmp_path)
    proc = r.run(tmp_path, check=False)
    assert proc.returncode == 3
    assert (tmp_path / ".command.err").read_text().strip() == "about to fail with 3"
    with pytest.raises(AssertionError, match="never.txt"):
        r.check_outputs(tmp_path)


def test_the_only_process_is_rendered_by_default(tmp_path):
    r = render_process(SINGLE, inputs={"word": "hello"})
    r.run(tmp_path)
    assert (tmp_path / "word.txt").read_text() == "hello\n"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"inputs": {"meta": META}, "process": "ECHO_INPUTS"}, r"missing: \[reads, index\]"),
        (
            {"inputs": {"meta": META, "reads": "r", "index": "i", "extra": 1}, "process": "ECHO_INPUTS"},
            r"not declared: \[extra\]",
        ),
        ({"inputs": {"meta": META}, "process": "DEF_IN_OUTPUT"}, r"uses `prefix`.*without `def`"),
        ({"inputs": {"meta": META}, "process": "READS_PARAMS"}, r"uses `params`"),
        ({"inputs": {"code": 1}, "process": "FAIL_LOUDLY", "stub": True}, r"has no stub: section"),
        ({"inputs": {"code": 1}}, r"defines 6 processes"),
        ({"inputs": {"code": 1}, "process": "NOPE"}, r"no process NOPE"),
    ],
)
def test_render_errors_name_the_culprit(kwargs, message):
    with pytest.raises(RenderError, match=message):
        render_process(DEMO, **kwargs)
