//
// Sample identity before any QTL mapping: sex from XIST/chrY expression, genotype concordance of every library
// with every VCF individual (when there are alignments), a gate applying identity_action, then one focal library
// per individual (most read pairs) and counts summed over replicates. Every decision goes to a status fragment.
//

include { IDENTITY_SEXCHECK    } from '../../../modules/local/identity/sexcheck/main'
include { IDENTITY_SITES       } from '../../../modules/local/identity/sites/main'
include { BCFTOOLS_MPILEUP     } from '../../../modules/local/bcftools/mpileup/main'
include { IDENTITY_CONCORDANCE } from '../../../modules/local/identity/concordance/main'
include { IDENTITY_GATE        } from '../../../modules/local/identity/gate/main'
include { REPLICATES_RESOLVE   } from '../../../modules/local/replicates/resolve/main'

workflow SAMPLE_IDENTITY {

    take:
    ch_bam          // channel: [ val(meta), path(bam), path(bai) ]; empty when alignment is skipped (no concordance then)
    ch_gene_tpm     // channel: path(gene_tpm.tsv)      genes x libraries
    ch_gene_counts  // channel: path(gene_counts.tsv)   genes x libraries
    ch_gene_lengths // channel: path(gene_lengths.tsv)  genes x libraries
    ch_read_pairs   // channel: [ val(meta), path(<id>.fastq_check.json) ]
    ch_samples      // channel: path(sample table TSV: sample, individual, population, continental_group, sex, batch, ...)
    ch_vcf          // channel: [ path(vcf), path(index) ]
    ch_gtf          // channel: path(genes.gtf)

    main:
    ch_versions      = channel.empty()
    ch_multiqc_files = channel.empty()
    ch_status        = channel.empty()

    //
    // Sex from expression (ext.when: not with skip_identity)
    //
    IDENTITY_SEXCHECK ( ch_gene_tpm, ch_gtf, ch_samples )
    ch_status        = ch_status.mix(IDENTITY_SEXCHECK.out.status)
    ch_multiqc_files = ch_multiqc_files.mix(IDENTITY_SEXCHECK.out.multiqc)
    ch_versions      = ch_versions.mix(IDENTITY_SEXCHECK.out.versions)

    //
    // Genotype concordance: sites and panel genotypes once, allele counts per library, one scoring task.
    // Nothing here runs when ch_bam is empty.
    //
    ch_vcf_if_aligned = ch_bam
        .first()
        .combine(ch_vcf)
        .map { _meta, _bam, _bai, vcf, index -> [ vcf, index ] }
    IDENTITY_SITES ( ch_vcf_if_aligned, ch_gtf )
    ch_versions = ch_versions.mix(IDENTITY_SITES.out.versions)

    BCFTOOLS_MPILEUP ( ch_bam, IDENTITY_SITES.out.sites.first() )
    ch_versions = ch_versions.mix(BCFTOOLS_MPILEUP.out.versions.first())

    IDENTITY_CONCORDANCE (
        BCFTOOLS_MPILEUP.out.counts.map { _meta, counts -> counts }.collect(sort: { a, b -> a.name <=> b.name }),
        IDENTITY_SITES.out.panel,
        ch_samples
    )
    ch_status        = ch_status.mix(IDENTITY_CONCORDANCE.out.status)
    ch_multiqc_files = ch_multiqc_files.mix(IDENTITY_CONCORDANCE.out.multiqc.flatten())
    ch_versions      = ch_versions.mix(IDENTITY_CONCORDANCE.out.versions)

    //
    // Gate: identity_action applied to whichever checks ran
    //
    IDENTITY_GATE (
        ch_samples,
        IDENTITY_SEXCHECK.out.results.ifEmpty([]),
        IDENTITY_CONCORDANCE.out.results.ifEmpty([])
    )
    ch_status   = ch_status.mix(IDENTITY_GATE.out.status)
    ch_versions = ch_versions.mix(IDENTITY_GATE.out.versions)

    //
    // Replicates: one focal library per individual (columns renamed to individuals), counts summed for DE
    //
    REPLICATES_RESOLVE (
        ch_gene_counts,
        ch_gene_tpm,
        ch_gene_lengths,
        ch_read_pairs.map { _meta, json -> json }.collect(sort: { a, b -> a.name <=> b.name }),
        IDENTITY_GATE.out.passing,
        ch_samples
    )
    ch_status   = ch_status.mix(REPLICATES_RESOLVE.out.status)
    ch_versions = ch_versions.mix(REPLICATES_RESOLVE.out.versions)

    emit:
    focal_counts     = REPLICATES_RESOLVE.out.focal_counts     // channel: path(gene_counts.focal.tsv)   genes x individuals
    focal_tpm        = REPLICATES_RESOLVE.out.focal_tpm        // channel: path(gene_tpm.focal.tsv)
    focal_lengths    = REPLICATES_RESOLVE.out.focal_lengths    // channel: path(gene_lengths.focal.tsv)
    collapsed_counts = REPLICATES_RESOLVE.out.collapsed_counts // channel: path(gene_counts.collapsed.tsv) summed over replicates
    focal_libraries  = REPLICATES_RESOLVE.out.focal_libraries  // channel: path(focal_libraries.tsv)  individual, library, read_pairs, ...
    status           = ch_status                               // channel: path(<step>.status.tsv)
    multiqc_files    = ch_multiqc_files                        // channel: path(*_mqc.json)
    versions         = ch_versions                             // channel: path(versions.yml)
}
