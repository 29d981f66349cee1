"""`python -m tests.nftools [ROOT] [CHECK...]`: run the Nextflow structure checks and print the problems."""

import sys

from .checks import main

sys.exit(main(sys.argv[1:]))
