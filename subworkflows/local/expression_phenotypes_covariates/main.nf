//
// Expression phenotypes (filter, TMM, inverse-normal TMM, DESeq2 log counts as phenotype BEDs) and QTL covariates
// (genotype PCs from plink2, expression PCs chosen by Buja-Eyuboglu, known covariates), joined by sample ID.
//

include { EXPRESSION_NORMALIZE     } from '../../../modules/local/expression/normalize/main'
include { PLINK2_VCF2PGEN          } from '../../../modules/local/plink2/vcf2pgen/main'
include { PLINK2_INDEPPAIRWISE     } from '../../../modules/local/plink2/indeppairwise/main'
include { PLINK2_PCA               } from '../../../modules/local/plink2/pca/main'
include { COVARIATES_HIDDENFACTORS } from '../../../modules/local/covariates/hiddenfactors/main'
include { COVARIATES_ASSEMBLE      } from '../../../modules/local/covariates/assemble/main'

workflow EXPRESSION_PHENOTYPES_COVARIATES {

    take:
    ch_counts   // channel: path(gene_counts.tsv)  focal gene counts, genes x individuals
    ch_tpm      // channel: path(gene_tpm.tsv)     same genes and individuals
    ch_lengths  // channel: path(gene_lengths.tsv) tximport average transcript lengths
    ch_gtf      // channel: path(gtf)
    ch_vcf      // channel: [ path(vcf), path(tbi) ]
    ch_samples  // channel: path(samples.tsv)      sample table: sample, individual, population, continental_group, sex, batch
    ch_focal    // channel: path(focal_libraries.tsv) columns individual, library

    main:
    ch_versions      = channel.empty()
    ch_multiqc_files = channel.empty()
    ch_phenotype_bed = channel.empty()
    ch_beds          = channel.empty()
    ch_covariates    = channel.empty()
    ch_genotype_pcs  = channel.empty()

    //
    // Phenotype BEDs from the focal gene matrices
    //
    ch_matrices = ch_counts
        .combine(ch_tpm)
        .combine(ch_lengths)
        .map { counts, tpm, lengths -> [ [ id: 'expression' ], counts, tpm, lengths ] }
    EXPRESSION_NORMALIZE ( ch_matrices, ch_gtf )
    ch_versions      = ch_versions.mix(EXPRESSION_NORMALIZE.out.versions)
    ch_multiqc_files = ch_multiqc_files.mix(EXPRESSION_NORMALIZE.out.multiqc)

    //
    // Genotype PCs: plink2 on the mapped individuals (LD pruning is switched by ext.when in the config)
    //
    ch_keep = ch_focal
        .splitCsv(header: true, sep: '\t')
        .map { row -> row.individual }
        .collectFile(name: 'pca_individuals.txt', newLine: true, sort: true)
    ch_vcf_meta = ch_vcf.map { vcf, tbi -> [ [ id: 'genotypes' ], vcf, tbi ] }
    PLINK2_VCF2PGEN ( ch_vcf_meta, ch_keep )
    PLINK2_INDEPPAIRWISE ( PLINK2_VCF2PGEN.out.pgen )
    ch_extract = PLINK2_INDEPPAIRWISE.out.prune_in
        .map { _meta, prune_in -> prune_in }
        .ifEmpty([])
    PLINK2_PCA ( PLINK2_VCF2PGEN.out.pgen, ch_extract )
    ch_eigenvec = PLINK2_PCA.out.eigenvec.map { _meta, eigenvec -> eigenvec }
    ch_versions = ch_versions
        .mix(PLINK2_VCF2PGEN.out.versions)
        .mix(PLINK2_INDEPPAIRWISE.out.versions)
        .mix(PLINK2_PCA.out.versions)

    //
    // Expression PCs (hidden factors) and the covariate file, both keyed by sample ID
    //
    COVARIATES_HIDDENFACTORS ( EXPRESSION_NORMALIZE.out.phenotype_bed, ch_eigenvec, ch_samples )
    ch_versions      = ch_versions.mix(COVARIATES_HIDDENFACTORS.out.versions)
    ch_multiqc_files = ch_multiqc_files.mix(COVARIATES_HIDDENFACTORS.out.multiqc.flatten())

    COVARIATES_ASSEMBLE (
        EXPRESSION_NORMALIZE.out.phenotype_bed,
        ch_eigenvec,
        COVARIATES_HIDDENFACTORS.out.factors.map { _meta, factors -> factors },
        ch_samples,
        ch_focal
    )
    ch_versions      = ch_versions.mix(COVARIATES_ASSEMBLE.out.versions)
    ch_multiqc_files = ch_multiqc_files.mix(COVARIATES_ASSEMBLE.out.multiqc)

    ch_phenotype_bed = EXPRESSION_NORMALIZE.out.phenotype_bed.map { _meta, bed, tbi -> [ bed, tbi ] }
    ch_beds          = EXPRESSION_NORMALIZE.out.beds.map { _meta, beds, tbis -> [ beds, tbis ] }
    ch_covariates    = COVARIATES_ASSEMBLE.out.covariates.map { _meta, covariates -> covariates }
    ch_genotype_pcs  = ch_eigenvec

    emit:
    phenotype_bed = ch_phenotype_bed // channel: [ path(inverse_normal_tmm.bed.gz), path(tbi) ]  the eQTL phenotype
    beds          = ch_beds          // channel: [ [ path(*.bed.gz) x4 ], [ path(*.bed.gz.tbi) x4 ] ]
    covariates    = ch_covariates    // channel: path(covariates.txt)  FastQTL format, columns in the BED's sample order
    genotype_pcs  = ch_genotype_pcs  // channel: path(eigenvec)  plink2 genotype PCs
    multiqc_files = ch_multiqc_files // channel: path(*_mqc.json)
    versions      = ch_versions      // channel: path(versions.yml)
}
