"""Shared formats and readers: atomic output, matrix/BED/covariate tables, GTF, VCF/BCF, the genotype store,
phenotype BEDs for QTL mapping, external tools."""
