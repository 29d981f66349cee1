"""Micro-benchmark of the permutation kernel against a plain float32 matmul of the same shape (benchmarks/)."""

from __future__ import annotations

import time

import numpy as np

from .kernels import centred_unit, permutation_matrix, permuted_max_r


def kernel_benchmark(n_variants: int = 10_000, n_samples: int = 731, n_perm: int = 1000, repeats: int = 3, seed: int = 1) -> dict:
    """GFLOP/s of the permutation kernel vs a plain numpy float32 matmul of the same shape.

    The kernel does the gather of shuffled phenotypes, the covariate projection, the GEMM and the column max;
    the plain matmul only the GEMM. FLOPs counted: 2 * variants * samples * shuffles.
    """
    rng = np.random.default_rng(seed)
    g = rng.standard_normal((n_variants, n_samples)).astype(np.float32)
    y = centred_unit(rng.standard_normal((1, n_samples)))
    basis = np.linalg.qr(np.column_stack([np.ones(n_samples), rng.standard_normal((n_samples, 20))]))[0]
    shuffles = permutation_matrix(n_samples, n_perm, seed)
    b = rng.standard_normal((n_samples, n_perm)).astype(np.float32)
    flops = 2.0 * n_variants * n_samples * n_perm

    def best_time(fn) -> float:
        fn()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    kernel = best_time(lambda: permuted_max_r(g, y, basis, shuffles))
    matmul = best_time(lambda: g @ b)
    return {
        "n_variants": n_variants,
        "n_samples": n_samples,
        "n_perm": n_perm,
        "kernel_seconds": kernel,
        "matmul_seconds": matmul,
        "kernel_gflops": flops / kernel / 1e9,
        "matmul_gflops": flops / matmul / 1e9,
    }
