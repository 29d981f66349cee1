"""Genotype preparation: VCF/BCF to the genotype store used by every QTL pass (MAGE §2.1)."""
