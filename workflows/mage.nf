/*
========================================================================================
    MAGE: samplesheet -> reads -> gene matrices -> alignment -> sample identity ->
          phenotypes and covariates -> cis-QTLs -> sample status -> MultiQC
========================================================================================
*/

include { SAMPLESHEET_CHECK                } from '../modules/local/samplesheet/check/main'
include { SAMPLE_STATUS                    } from '../modules/local/sample/status/main'
include { MULTIQC_REPORT                   } from '../modules/local/multiqc/report/main'
include { FASTQ_DOWNLOAD_SRATOOLS          } from '../subworkflows/local/fastq_download_sratools/main'
include { FASTQ_QC_QUANT_SALMON            } from '../subworkflows/local/fastq_qc_quant_salmon/main'
include { FASTQ_ALIGN_STAR                 } from '../subworkflows/local/fastq_align_star/main'
include { SAMPLE_IDENTITY                  } from '../subworkflows/local/sample_identity/main'
include { EXPRESSION_PHENOTYPES_COVARIATES } from '../subworkflows/local/expression_phenotypes_covariates/main'
include { CIS_QTL_MAPPING                  } from '../subworkflows/local/cis_qtl_mapping/main'
include { AFC_ESTIMATE                     } from '../modules/local/afc/estimate/main'
include { AFC_ESTIMATE as AFC_INDEPENDENT  } from '../modules/local/afc/estimate/main'
include { GENOTYPES_PREPARE                } from '../modules/local/genotypes/prepare/main'
include { BCFTOOLS_CONCAT                  } from '../modules/local/bcftools/concat/main'
include { workflowVersionToYAML            } from '../subworkflows/local/utils_mage_pipeline/functions'
include { paramsSummaryMultiqc             } from '../subworkflows/local/utils_mage_pipeline/functions'
include { paramsSummaryMap                 } from 'plugin/nf-schema'
include { methodsDescriptionText           } from '../subworkflows/local/utils_mage_pipeline/functions'
include { vcfsWithIndex                    } from '../subworkflows/local/utils_mage_pipeline/functions'
include { libraryMeta                      } from '../subworkflows/local/utils_mage_pipeline/functions'
include { libraryReads                     } from '../subworkflows/local/utils_mage_pipeline/functions'

workflow MAGE {

    take:
    ch_samplesheet // channel: [ val(meta), path(samplesheet) ]

    main:
    ch_versions      = channel.empty()
    ch_multiqc_files = channel.empty()
    ch_status        = channel.empty()

    // Genotypes: one VCF, or several (e.g. per chromosome); those are joined once for the steps that read one VCF
    def vcf_pairs       = vcfsWithIndex(params.vcf)
    ch_vcf_inputs       = channel.value([ [ id: 'genotypes' ], vcf_pairs.collect { pair -> pair[0] }, vcf_pairs.collect { pair -> pair[1] } ])
    ch_vcf              = channel.value(vcf_pairs[0])
    if (vcf_pairs.size() > 1) {
        BCFTOOLS_CONCAT ( ch_vcf_inputs )
        ch_vcf      = BCFTOOLS_CONCAT.out.vcf.map { _meta, vcf, index -> [ vcf, index ] }
        ch_versions = ch_versions.mix(BCFTOOLS_CONCAT.out.versions)
    }
    ch_gtf              = channel.value(file(params.gtf, checkIfExists: true))
    ch_transcript_fasta = params.transcript_fasta ? channel.value(file(params.transcript_fasta, checkIfExists: true)) : channel.empty()
    ch_salmon_index     = params.salmon_index ? channel.value(file(params.salmon_index, checkIfExists: true)) : channel.empty()
    ch_fasta            = params.fasta ? channel.value(file(params.fasta, checkIfExists: true)) : channel.empty()
    ch_star_index       = params.star_index ? channel.value(file(params.star_index, checkIfExists: true)) : channel.empty()

    //
    // Samplesheet: checked in full (and against the VCF header) before any other task starts.
    //
    SAMPLESHEET_CHECK (
        ch_samplesheet,
        vcf_pairs[0][0],  // every VCF has the same samples (BCFTOOLS_CONCAT stops otherwise)
        ch_samplesheet.map { _meta, sheet -> sheet.parent.toString() }
    )
    // Tasks whose inputs are all value channels emit value channels: no .first() needed on these
    ch_sample_table = SAMPLESHEET_CHECK.out.samples.map { _meta, table -> table }
    ch_status       = ch_status.mix(SAMPLESHEET_CHECK.out.status)
    ch_versions     = ch_versions.mix(SAMPLESHEET_CHECK.out.versions)

    ch_rows = ch_sample_table
        .splitCsv(header: true, sep: '\t')
        .branch { row ->
            sra:   row.run_accession
            fastq: true
        }
    ch_fastq = ch_rows.fastq.map { row -> [ libraryMeta(row), libraryReads(row, params.input) ] }

    //
    // Reads: SRA download where asked, FASTQ integrity, FastQC, optional fastp, Salmon, gene matrices.
    //
    FASTQ_DOWNLOAD_SRATOOLS (
        ch_rows.sra.map { row -> [ libraryMeta(row), row.run_accession ] }
    )
    ch_versions = ch_versions.mix(FASTQ_DOWNLOAD_SRATOOLS.out.versions)

    FASTQ_QC_QUANT_SALMON (
        ch_fastq.mix(FASTQ_DOWNLOAD_SRATOOLS.out.reads),
        ch_transcript_fasta,
        ch_gtf,
        ch_salmon_index,
        params.skip_fastqc,
        params.skip_trimming
    )
    ch_status        = ch_status.mix(FASTQ_QC_QUANT_SALMON.out.status)
    ch_multiqc_files = ch_multiqc_files.mix(FASTQ_QC_QUANT_SALMON.out.multiqc_files)
    ch_versions      = ch_versions.mix(FASTQ_QC_QUANT_SALMON.out.versions)

    //
    // STAR two-pass alignment: junctions for splicing, BAMs for genotype concordance.
    //
    ch_bam = channel.empty()
    if (!params.skip_alignment) {
        FASTQ_ALIGN_STAR (
            FASTQ_QC_QUANT_SALMON.out.reads,
            ch_fasta,
            ch_gtf,
            ch_star_index,
            ch_vcf,
            params.star_wasp
        )
        ch_bam           = FASTQ_ALIGN_STAR.out.bam
        ch_multiqc_files = ch_multiqc_files.mix(FASTQ_ALIGN_STAR.out.multiqc_files)
        ch_versions      = ch_versions.mix(FASTQ_ALIGN_STAR.out.versions)
    }

    //
    // Sample identity (sex check, genotype concordance, gate) and replicate resolution:
    // the gate runs before any QTL mapping, and every decision goes to the sample-status table.
    //
    SAMPLE_IDENTITY (
        params.skip_identity ? channel.empty() : ch_bam,
        FASTQ_QC_QUANT_SALMON.out.gene_tpm,
        FASTQ_QC_QUANT_SALMON.out.gene_counts,
        FASTQ_QC_QUANT_SALMON.out.gene_lengths,
        FASTQ_QC_QUANT_SALMON.out.read_pairs,
        ch_sample_table,
        ch_vcf,
        ch_gtf
    )
    ch_status        = ch_status.mix(SAMPLE_IDENTITY.out.status)
    ch_multiqc_files = ch_multiqc_files.mix(SAMPLE_IDENTITY.out.multiqc_files)
    ch_versions      = ch_versions.mix(SAMPLE_IDENTITY.out.versions)

    //
    // Expression phenotypes (filter, TMM, INT, DESeq2, TSS BEDs) and covariates (genotype PCs,
    // expression PCs, known covariates), one column per individual.
    //
    EXPRESSION_PHENOTYPES_COVARIATES (
        SAMPLE_IDENTITY.out.focal_counts,
        SAMPLE_IDENTITY.out.focal_tpm,
        SAMPLE_IDENTITY.out.focal_lengths,
        ch_gtf,
        ch_vcf,
        ch_sample_table,
        SAMPLE_IDENTITY.out.focal_libraries
    )
    ch_multiqc_files = ch_multiqc_files.mix(EXPRESSION_PHENOTYPES_COVARIATES.out.multiqc_files)
    ch_versions      = ch_versions.mix(EXPRESSION_PHENOTYPES_COVARIATES.out.versions)

    //
    // cis-eQTLs: chunks in parallel, q-values over all genes at once, independent signals, SuSiE fine-mapping.
    //
    if (!params.skip_qtl) {
        // Genotype store: one task over every VCF, built once and shared by every mapping pass (eQTL now, sQTL
        // later); it keeps only the individuals that reach mapping, so the MAF counts those alone
        GENOTYPES_PREPARE ( ch_vcf_inputs, ch_sample_table, SAMPLE_IDENTITY.out.focal_libraries )
        // a queue channel (the focal-library table comes from one), made a value for every chunk task
        ch_store    = GENOTYPES_PREPARE.out.store.map { _meta, store -> store }.first()
        ch_versions = ch_versions.mix(GENOTYPES_PREPARE.out.versions)

        CIS_QTL_MAPPING (
            ch_store,
            EXPRESSION_PHENOTYPES_COVARIATES.out.phenotype_bed,
            EXPRESSION_PHENOTYPES_COVARIATES.out.covariates,
            [],
            params.qtl_chunks,
            !params.skip_independent,
            !params.skip_finemap
        )
        ch_multiqc_files = ch_multiqc_files.mix(CIS_QTL_MAPPING.out.multiqc_files)
        ch_versions      = ch_versions.mix(CIS_QTL_MAPPING.out.versions)
        // The independent signals of every chunk, merged in one table, beside the FDR table
        CIS_QTL_MAPPING.out.independent.collectFile(storeDir: "${params.outdir}/cisqtl/eqtl")

        // aFC-n effect sizes of the credible sets' lead variants, on DESeq2 log2 expression (MAGE §2.22)
        if (!params.skip_finemap && !params.skip_afc) {
            ch_deseq2_bed = EXPRESSION_PHENOTYPES_COVARIATES.out.beds.map { beds, tbis ->
                [ beds.find { bed -> bed.name.endsWith('.deseq2_log2.bed.gz') }, tbis.find { tbi -> tbi.name.endsWith('.deseq2_log2.bed.gz.tbi') } ]
            }
            AFC_ESTIMATE (
                CIS_QTL_MAPPING.out.lead_variants,
                ch_vcf,
                ch_deseq2_bed,
                EXPRESSION_PHENOTYPES_COVARIATES.out.covariates
            )
            ch_multiqc_files = ch_multiqc_files.mix(AFC_ESTIMATE.out.multiqc.flatten())
            ch_versions      = ch_versions.mix(AFC_ESTIMATE.out.versions)
            // and of the conditionally independent cis-eQTLs (one row per signal; a gene's signals fitted together)
            if (!params.skip_independent) {
                AFC_INDEPENDENT (
                    CIS_QTL_MAPPING.out.independent.map { table -> [ [ id: 'eqtl_independent' ], table ] },
                    ch_vcf,
                    ch_deseq2_bed,
                    EXPRESSION_PHENOTYPES_COVARIATES.out.covariates
                )
                ch_multiqc_files = ch_multiqc_files.mix(AFC_INDEPENDENT.out.multiqc.flatten())
                ch_versions      = ch_versions.mix(AFC_INDEPENDENT.out.versions)
            }
        }
    }

    //
    // Every library: kept, flagged, or dropped and why.
    //
    SAMPLE_STATUS (
        SAMPLESHEET_CHECK.out.samples.map { _meta, table -> [ [ id: 'sample_status' ], table ] },
        ch_status.collect(sort: { a, b -> a.name <=> b.name })
    )
    ch_multiqc_files = ch_multiqc_files.mix(SAMPLE_STATUS.out.multiqc)
    ch_versions      = ch_versions.mix(SAMPLE_STATUS.out.versions)

    //
    // Software versions, workflow summary, methods description and the MultiQC report.
    //
    ch_collated_versions = ch_versions
        .unique()
        .map { versions_file -> file(versions_file).text.trim() }
        .unique()
        .mix(channel.of(workflowVersionToYAML()))
        .collectFile(storeDir: "${params.outdir}/pipeline_info", name: 'mage_software_mqc_versions.yml', sort: true, newLine: true)

    ch_multiqc_report = channel.empty()
    if (!params.skip_multiqc) {
        def summary_params   = paramsSummaryMap(workflow, parameters_schema: 'nextflow_schema.json')
        def methods_template = params.multiqc_methods_description
            ? file(params.multiqc_methods_description, checkIfExists: true)
            : file("${projectDir}/assets/methods_description_template.yml", checkIfExists: true)
        ch_multiqc_files = ch_multiqc_files
            .mix(channel.value(paramsSummaryMultiqc(summary_params)).collectFile(name: 'workflow_summary_mqc.yaml'))
            .mix(channel.value(methodsDescriptionText(methods_template)).collectFile(name: 'methods_description_mqc.yaml'))
            .mix(ch_collated_versions)

        MULTIQC_REPORT (
            ch_multiqc_files.collect(sort: { a, b -> a.name <=> b.name ?: a.toString() <=> b.toString() }),
            channel.value(file("${projectDir}/assets/multiqc_config.yml", checkIfExists: true)),
            params.multiqc_config ? channel.value(file(params.multiqc_config, checkIfExists: true)) : channel.value([]),
            params.multiqc_logo ? channel.value(file(params.multiqc_logo, checkIfExists: true)) : channel.value([])
        )
        ch_multiqc_report = MULTIQC_REPORT.out.report
    }

    emit:
    multiqc_report = ch_multiqc_report // channel: path(multiqc_report.html)
    versions       = ch_versions       // channel: path(versions.yml)
}
