"""Shared numerics and I/O for the mage pipeline's bin/ CLIs.

Every CLI in bin/ is a thin argparse wrapper over functions in this package, so that
the same code runs inside Nextflow tasks, in pytest and in benchmarks/.
"""

__version__ = "0.1.0"
