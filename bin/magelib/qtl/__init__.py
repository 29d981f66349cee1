"""cis-QTL mapping (MAGE §2.17-2.19): kernels (pure numpy), the chunk problem and genotype windows, workers, the cis
and independent passes, beta approximation, q-values, output tables."""
