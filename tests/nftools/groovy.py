"""The Groovy 4 side of nftools: finding the jars, compiling tests/nftools/groovy/*.groovy once, and one JVM per session.

JVM start-up is slow (1-3 s), so every parse and render request of a Python process goes to one long-lived
`NfServer` JVM (JSON lines over stdin/stdout), started on first use and stopped at exit. The Groovy sources are
compiled once into tools/nftools-classes/<hash of the sources>/ so the server starts without compiling.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GROOVY_SOURCES = Path(__file__).resolve().parent / "groovy"
CLASS_CACHE = REPO / "tools" / "nftools-classes"
# C1-only JIT and the serial GC: these JVMs are short and small, start-up time is what matters.
JVM_FLAGS = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xss8m", "-Dfile.encoding=UTF-8"]
SETUP_HINT = "run `bash tests/nftools/setup_groovy.sh` (needs npm and Java 17)"


class GroovyUnavailable(RuntimeError):
    """Java or the Groovy 4 jars are missing."""


def groovy_lib() -> Path:
    """The folder holding groovy-4.*.jar and groovy-json-4.*.jar: $MAGE_GROOVY_LIB, else tools/groovy/."""
    lib = Path(os.environ.get("MAGE_GROOVY_LIB") or REPO / "tools" / "groovy")
    if not any(lib.glob("groovy-4.*.jar")) or not any(lib.glob("groovy-json-4.*.jar")):
        raise GroovyUnavailable(f"the Groovy 4 jars are not in {lib}: {SETUP_HINT}")
    return lib


def java() -> str:
    home = os.environ.get("JAVA_HOME")
    exe = shutil.which("java") or (home and shutil.which(str(Path(home) / "bin" / "java")))
    if not exe:
        raise GroovyUnavailable("java is not on PATH (Java 17 is needed for the Nextflow checks)")
    return exe


def require_groovy() -> None:
    """Skip the calling test when Java or the jars are missing (fail instead under CI, where they must be installed)."""
    import pytest

    try:
        groovy_lib()
        java()
    except GroovyUnavailable as err:
        if os.environ.get("CI"):
            pytest.fail(str(err))
        pytest.skip(str(err))


def compiled_classes(lib: Path) -> Path:
    """Compile the Groovy helpers once per version of their sources (atomic: concurrent sessions may race)."""
    sources = sorted(GROOVY_SOURCES.glob("*.groovy"))
    digest = hashlib.sha256()
    for path in sources + sorted(lib.glob("groovy-*.jar")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes() if path.suffix == ".groovy" else str(path.stat().st_size).encode())
    target = CLASS_CACHE / digest.hexdigest()[:16]
    if (target / "NfServer.class").is_file():
        return target
    CLASS_CACHE.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".compile-", dir=CLASS_CACHE))
    cmd = [java(), *JVM_FLAGS, "-cp", f"{lib}/*", "org.codehaus.groovy.tools.FileSystemCompiler", "-d", str(staging)]
    proc = subprocess.run([*cmd, *map(str, sources)], capture_output=True, text=True)
    if proc.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise RuntimeError(f"compiling {GROOVY_SOURCES} failed:\n{proc.stdout}{proc.stderr}")
    try:
        staging.rename(target)
    except OSError:  # another session compiled the same sources first
        shutil.rmtree(staging, ignore_errors=True)
    for old in CLASS_CACHE.iterdir():  # builds of older sources, left alone for an hour in case a JVM still uses them
        if old != target and time.time() - old.stat().st_mtime > 3600:
            shutil.rmtree(old, ignore_errors=True)
    return target


class GroovyServer:
    """A running NfServer JVM; request() sends one JSON object and returns the JSON answer."""

    def __init__(self) -> None:
        lib = groovy_lib()
        classpath = f"{compiled_classes(lib)}{os.pathsep}{lib}/*"
        self._stderr = tempfile.TemporaryFile()
        self._lock = threading.Lock()
        self._proc = subprocess.Popen(
            [java(), *JVM_FLAGS, "-cp", classpath, "NfServer"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            encoding="utf-8",
        )

    def request(self, payload: dict) -> dict:
        with self._lock:
            self._proc.stdin.write(json.dumps(payload) + "\n")
            self._proc.stdin.flush()
            line = self._proc.stdout.readline()
        if not line:
            self._stderr.seek(0)
            tail = self._stderr.read().decode(errors="replace")[-3000:]
            raise RuntimeError(f"the Groovy server stopped (exit {self._proc.poll()}):\n{tail}")
        return json.loads(line)

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.stdin.close()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        self._stderr.close()


_server: GroovyServer | None = None
_server_lock = threading.Lock()


def server() -> GroovyServer:
    """The process-wide server, started on first use (a cache, not state: every request is independent)."""
    global _server
    with _server_lock:
        if _server is None or _server._proc.poll() is not None:
            _server = GroovyServer()
            atexit.register(_server.close)
        return _server
