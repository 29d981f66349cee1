"""The simulated test world (bin/simulate_world.py): genome, genotypes, planted effects, reads and the truth tables."""
