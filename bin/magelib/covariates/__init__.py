"""Covariates (MAGE §2.14-2.16): genotype PCs, hidden expression factors and known covariates assembled per sample."""
