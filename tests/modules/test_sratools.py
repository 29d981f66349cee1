"""SRATOOLS_PREFETCH and SRATOOLS_FASTERQDUMP: argument wiring only. There is no network here, so fake `prefetch`,
`vdb-validate` and `fasterq-dump` executables on PATH record their arguments and write what the real tools write;
`pigz` and the version commands are real. The nf-tests run these modules with -stub."""

from __future__ import annotations

import gzip
import os
import shutil
import stat

import pytest

from conftest import require_tool
from nftools.render import render_process

PREFETCH = "modules/local/sratools/prefetch/main.nf"
FASTERQDUMP = "modules/local/sratools/fasterqdump/main.nf"
META = {"id": "GM12878", "single_end": False}

FAKES = {
    # prefetch <args> --output-directory . SRR...: fails as often as ./fail_times says, then writes ./SRR/SRR.sra
    "prefetch": r"""#!/usr/bin/env bash
[ "$1" = "--version" ] && exec {real} --version
echo "prefetch $*" >> calls.log
test -n "$NCBI_SETTINGS" && grep -q '/LIBS/GUID' "$NCBI_SETTINGS" || { echo "no NCBI settings" >&2; exit 3; }
fails=$(cat fail_times 2>/dev/null || echo 0)
if [ "$fails" -gt 0 ]; then echo $((fails - 1)) > fail_times; echo "fake network error" >&2; exit 2; fi
acc="${@: -1}"
mkdir -p "$acc" && echo sra > "$acc/$acc.sra"
""",
    "vdb-validate": """#!/usr/bin/env bash
echo "vdb-validate $*" >> calls.log
test -f "$1/$1.sra"
""",
    # fasterq-dump <args> --outfile X.fastq SRR: writes X_1.fastq and X_2.fastq (as --split-files does)
    "fasterq-dump": r"""#!/usr/bin/env bash
[ "$1" = "--version" ] && exec {real} --version
echo "fasterq-dump $*" >> calls.log
out=""; while [ $# -gt 0 ]; do [ "$1" = "--outfile" ] && out="$2"; shift; done
base="${out%.fastq}"
printf '@r1 1\nACGT\n+\nFFFF\n' > "${base}_1.fastq"
printf '@r1 2\nTTTT\n+\nFFFF\n' > "${base}_2.fastq"
""",
    "sleep": '#!/usr/bin/env bash\necho "sleep $*" >> calls.log\n',
}


@pytest.fixture
def fake_bin(tmp_path):
    require_tool("prefetch", "fasterq-dump", "pigz")
    bindir = tmp_path / "fakebin"
    bindir.mkdir()
    for name, body in FAKES.items():
        real = shutil.which(name) or name
        path = bindir / name
        path.write_text(body.replace("{real}", real))
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return {"PATH": f"{bindir}:{os.environ['PATH']}"}


def test_prefetch_retries_then_validates(tmp_path, fake_bin):
    work = tmp_path / "work"
    work.mkdir()
    (work / "fail_times").write_text("2")
    r = render_process(PREFETCH, inputs={"meta": META, "accession": "SRR5665260"}, ext={"args": "--max-size u"})
    r.run(work, env=fake_bin)
    r.check_outputs(work)
    calls = (work / "calls.log").read_text().splitlines()
    assert calls.count("prefetch --max-size u --output-directory . SRR5665260") == 3
    assert [c for c in calls if c.startswith("sleep")] == ["sleep 30", "sleep 60"]
    assert calls[-1] == "vdb-validate SRR5665260"
    assert "sratools: 3." in (work / "versions.yml").read_text()


def test_prefetch_gives_up(tmp_path, fake_bin):
    (tmp_path / "fail_times").write_text("9")
    r = render_process(PREFETCH, inputs={"meta": META, "accession": "SRR5665260"}, ext={"attempts": 2})
    proc = r.run(tmp_path, env=fake_bin, check=False)
    assert proc.returncode == 1 and "prefetch SRR5665260 failed 2 times" in proc.stderr


def test_fasterqdump_split_files_and_gzip(tmp_path, fake_bin):
    (tmp_path / "SRR5665260").mkdir()
    r = render_process(FASTERQDUMP, inputs={"meta": META, "sra": "SRR5665260"}, cpus=2)
    r.run(tmp_path, env=fake_bin)
    r.check_outputs(tmp_path)
    call = (tmp_path / "calls.log").read_text().strip()
    assert call == "fasterq-dump --split-files --threads 2 --temp . --outfile GM12878.fastq SRR5665260"
    with gzip.open(tmp_path / "GM12878_2.fastq.gz", "rt") as handle:
        assert handle.read().splitlines()[1] == "TTTT"
    versions = (tmp_path / "versions.yml").read_text()
    assert "sratools: 3." in versions and "pigz: 2." in versions


@pytest.mark.parametrize(
    "module, inputs", [(PREFETCH, {"meta": META, "accession": "SRR1"}), (FASTERQDUMP, {"meta": META, "sra": "SRR1"})]
)
def test_stubs(tmp_path, module, inputs):
    r = render_process(module, inputs=inputs, stub=True)
    r.run(tmp_path)
    r.check_outputs(tmp_path)
