#!/usr/bin/env nextflow
/*
========================================================================================
    mage: population-scale RNA-seq of cell lines with phased genotypes
    reads -> gene counts -> sample identity -> phenotypes and covariates -> cis-QTLs -> MultiQC
========================================================================================
*/

include { MAGE                    } from './workflows/mage'
include { PIPELINE_INITIALISATION } from './subworkflows/local/utils_mage_pipeline'
include { PIPELINE_COMPLETION     } from './subworkflows/local/utils_mage_pipeline'

workflow {

    main:
    PIPELINE_INITIALISATION (
        params.version,
        params.validate_params,
        params.input
    )

    MAGE (
        PIPELINE_INITIALISATION.out.samplesheet
    )

    PIPELINE_COMPLETION (
        params.outdir,
        MAGE.out.multiqc_report
    )
}
