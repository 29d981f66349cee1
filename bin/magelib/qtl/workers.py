"""Running the units of a chunk in one process or in forked worker processes, in unit order, with progress
logging; a killed worker becomes ``WorkerKilled`` (exit 137, so the pipeline retries with more memory)."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ..cli import log
from .problem import Problem

_WORKER: dict = {}  # inside a worker process only: the problem and task it was forked with


def map_units(problem: Problem, task, workers: int = 1) -> Iterator:
    """task(problem, unit) for every unit of the chunk, yielded in unit order, with progress logging.

    With workers > 1 the units run in that many forked processes, which inherit the loaded problem, so every phase
    of a unit (window assembly, GEMM, beta fit) uses all cores, not only the BLAS calls. cis_qtl.py runs BLAS
    single-threaded in every process, and each product's operands are fixed by the unit alone, so the output is
    byte-identical for any number of workers and any chunking.
    """
    progress = Progress(problem.n_units)
    if workers <= 1 or problem.n_units < 2:
        for i, unit in enumerate(problem.units(), 1):
            yield task(problem, unit)
            progress(i)
        return
    context = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(min(workers, problem.n_units), context, _start_worker, (problem, task))
    try:
        for i, result in enumerate(pool.map(_run_worker, range(problem.n_units)), 1):
            yield result
            progress(i)
    except BrokenProcessPool as err:
        # a worker was killed (most often by the out-of-memory killer): exit as a killed process would, so that
        # the pipeline's retry-with-more-memory rule (exit codes 130-145) applies, instead of failing as bad input
        raise WorkerKilled(
            "a worker process died (killed, e.g. out of memory); rerun with more memory or fewer --threads"
        ) from err
    finally:
        pool.shutdown(cancel_futures=True)


class WorkerKilled(Exception):
    """A forked worker died without raising (signal); cis_qtl.py exits with 137."""


def _start_worker(problem: Problem, task) -> None:
    problem.source.reopen()  # a file handle shared across a fork shares its offset
    _WORKER.update(problem=problem, task=task)


def _run_worker(i: int):
    problem = _WORKER["problem"]
    return _WORKER["task"](problem, problem.unit(i))


class Progress:
    """Logs 'i/total units done' at most every 30 s, and at the end."""

    def __init__(self, total: int):
        self.total, self.last = total, time.monotonic()

    def __call__(self, i: int) -> None:
        now = time.monotonic()
        if i == self.total or now - self.last > 30:
            self.last = now
            log(f"{i}/{self.total} units done")
