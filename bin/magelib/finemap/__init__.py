"""Fine-mapping and effect sizes: SuSiE credible sets (susie) and aFC-n allelic fold change (afc)."""
