//
// cis-QTL mapping: permutation and nominal passes per phenotype chunk, FDR over all phenotypes at once, then
// conditionally independent signals and SuSiE fine-mapping of the significant phenotypes. eQTL when ch_groups is [], sQTL (grouped permutations) when it is a
// phenotype-groups file; the meta id ('eqtl' / 'sqtl') prefixes every output. The genotype store is an input
// (GENOTYPES_PREPARE, built once per run), so eQTL and sQTL mapping share it.
//

include { CISQTL_PERMUTATION  } from '../../../modules/local/cisqtl/permutation/main'
include { CISQTL_NOMINAL      } from '../../../modules/local/cisqtl/nominal/main'
include { CISQTL_FDR          } from '../../../modules/local/cisqtl/fdr/main'
include { CISQTL_INDEPENDENT  } from '../../../modules/local/cisqtl/independent/main'
include { FINEMAP_SUSIE       } from '../../../modules/local/finemap/susie/main'
include { FINEMAP_COLLATE     } from '../../../modules/local/finemap/collate/main'

workflow CIS_QTL_MAPPING {

    take:
    ch_store         // channel: path(genotype store directory), a value channel (GENOTYPES_PREPARE)
    ch_phenotype_bed // channel: [ path(bed.gz), path(tbi) ]
    ch_covariates    // channel: path(covariates.txt)  FastQTL format
    ch_groups        // channel: path(phenotype_groups.txt), or [] for ungrouped phenotypes (eQTL)
    n_chunks         // integer: phenotype chunks mapped as separate tasks
    run_independent  // boolean: map conditionally independent signals of the significant phenotypes
    run_finemap      // boolean: SuSiE credible sets for every phenotype of the significant units

    main:
    ch_versions          = channel.empty()
    ch_multiqc_files     = channel.empty()
    ch_permutation       = channel.empty()
    ch_fdr               = channel.empty()
    ch_egenes            = channel.empty()
    ch_significant_pairs = channel.empty()
    ch_nominal           = channel.empty()
    ch_independent       = channel.empty()
    ch_credible_sets     = channel.empty()
    ch_cs_summary        = channel.empty()
    ch_lead_variants     = channel.empty()

    //
    // One task per chunk of phenotypes (or groups), in BED order
    //
    ch_groups_value = ch_groups instanceof List ? channel.value(ch_groups) : ch_groups.first()  // [] may come as a plain list
    ch_cov_value    = ch_covariates.first()
    ch_chunks = ch_phenotype_bed
        .combine(ch_groups_value.map { groups -> [ [ id: groups ? 'sqtl' : 'eqtl' ] ] })
        .flatMap { bed, tbi, meta -> (1..(n_chunks as int)).collect { chunk -> [ meta, bed, tbi, chunk, n_chunks as int ] } }

    CISQTL_PERMUTATION ( ch_chunks, ch_store, ch_cov_value, ch_groups_value )
    ch_versions    = ch_versions.mix(CISQTL_PERMUTATION.out.versions.first())
    ch_permutation = CISQTL_PERMUTATION.out.table
        .toSortedList { a, b -> a[1] <=> b[1] }
        .filter { items -> items }  // no chunk ran (no phenotypes, e.g. a -stub run): nothing to correct
        .map { items -> [ items[0][0], items.collect { item -> item[2] } ] }

    CISQTL_NOMINAL ( ch_chunks, ch_store, ch_cov_value )
    ch_versions = ch_versions.mix(CISQTL_NOMINAL.out.versions.first())
    ch_nominal  = CISQTL_NOMINAL.out.pairs
    ch_nominal_files = ch_nominal
        .flatMap { _meta, _chunk, files -> files instanceof List ? files : [ files ] }
        .toSortedList { a, b -> a.name <=> b.name }

    //
    // q-values over all phenotypes at once (per chromosome with --fdr_scope chromosome), thresholds, pairs
    //
    CISQTL_FDR ( ch_permutation.combine(ch_nominal_files.map { files -> [ files ] }), ch_groups_value )
    ch_fdr               = CISQTL_FDR.out.fdr
    ch_egenes            = CISQTL_FDR.out.egenes
    ch_significant_pairs = CISQTL_FDR.out.significant_pairs
    ch_multiqc_files     = ch_multiqc_files.mix(CISQTL_FDR.out.multiqc.flatten())
    ch_versions          = ch_versions.mix(CISQTL_FDR.out.versions)

    if (run_independent) {
        CISQTL_INDEPENDENT (
            ch_chunks,
            ch_store,
            ch_cov_value,
            ch_groups_value,
            ch_fdr.map { _meta, table -> table }.first()
        )
        ch_versions    = ch_versions.mix(CISQTL_INDEPENDENT.out.versions.first())
        ch_independent = CISQTL_INDEPENDENT.out.table
            .collectFile(keepHeader: true, skip: 1, sort: { table -> table.name }) { meta, _chunk, table ->
                [ "${meta.id}.cis_independent_qtl.txt", table ]
            }
    }

    if (run_finemap) {
        FINEMAP_SUSIE (
            ch_chunks,
            ch_store,
            ch_cov_value,
            ch_groups_value,
            ch_fdr.map { _meta, table -> table }.first()
        )
        ch_versions = ch_versions.mix(FINEMAP_SUSIE.out.versions.first())
        FINEMAP_COLLATE (
            FINEMAP_SUSIE.out.tables
                .toSortedList { a, b -> a[1] <=> b[1] }
                .filter { items -> items }
                .map { items -> [ items[0][0], items.collect { item -> item[2] }.flatten() ] }
        )
        ch_credible_sets = FINEMAP_COLLATE.out.credible_sets
        ch_cs_summary    = FINEMAP_COLLATE.out.cs_summary
        ch_lead_variants = FINEMAP_COLLATE.out.lead_variants
        ch_multiqc_files = ch_multiqc_files.mix(FINEMAP_COLLATE.out.multiqc.flatten())
        ch_versions      = ch_versions.mix(FINEMAP_COLLATE.out.versions)
    }

    emit:
    permutation       = ch_permutation       // channel: [ val(meta), [ path(chunk tables) ] ]  sorted by chunk
    fdr               = ch_fdr               // channel: [ val(meta), path(cis_qtl.fdr.txt.gz) ]  with qval, pval_nominal_threshold
    egenes            = ch_egenes            // channel: [ val(meta), path(egenes.txt.gz) ]
    significant_pairs = ch_significant_pairs // channel: [ val(meta), path(significant_pairs.txt.gz) ]
    nominal           = ch_nominal           // channel: [ val(meta), val(chunk), [ path(cis_qtl_pairs.<chr>.parquet) ] ]
    independent       = ch_independent       // channel: path(cis_independent_qtl.txt)
    credible_sets     = ch_credible_sets     // channel: [ val(meta), path(susie.credible_sets.tsv.gz) ]
    cs_summary        = ch_cs_summary        // channel: [ val(meta), path(susie.cs_summary.tsv.gz) ]
    lead_variants     = ch_lead_variants     // channel: [ val(meta), path(susie.lead_variants.tsv) ]  one per credible set
    multiqc_files     = ch_multiqc_files     // channel: path(*_mqc.json)
    versions          = ch_versions          // channel: path(versions.yml)
}
