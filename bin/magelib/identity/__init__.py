"""Sample identity (MAGE §1): sex check, identity sites and genotype concordance, replicate resolution."""
