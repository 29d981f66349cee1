"""Expression phenotypes (MAGE §2.3): gene filter, TMM, inverse-normal transform, DESeq2 log counts, TSS BED."""
