process IDENTITY_CONCORDANCE {
    tag "${counts instanceof List ? counts.size() : 1} libraries"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"
    container "mage.local/mage-python:dev" // built from the repository's Dockerfile; -profile wave builds it from environment.yml

    input:
    path counts, stageAs: 'allele_counts/*'   // <library>.allele_counts.tsv.gz from BCFTOOLS_MPILEUP, all libraries
    path panel                                // identity_panel.parquet from IDENTITY_SITES
    path samples                              // sample table: sample, individual, ...

    output:
    path "genotype_concordance.tsv"              , emit: results
    path "genotype_concordance_matrix.tsv"       , emit: matrix
    path "genotype_concordance.status.tsv"       , emit: status
    path "genotype_concordance_*_mqc.json"       , emit: multiqc
    path "versions.yml"                          , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    genotype_concordance.py \\
        --panel ${panel} \\
        --counts ${counts} \\
        --samples ${samples} \\
        --outdir . \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 --version | sed 's/Python //')
        magelib: \$(genotype_concordance.py --version | sed 's/.*magelib //; s/)//')
    END_VERSIONS
    """

    stub:
    """
    printf 'sample\\tlabelled_individual\\tverdict\\tbest_individual\\treason\\n' > genotype_concordance.tsv
    printf 'sample\\n' > genotype_concordance_matrix.tsv
    printf 'sample\\tstep\\tstatus\\treason\\n' > genotype_concordance.status.tsv
    echo '{}' > genotype_concordance_table_mqc.json
    echo '{}' > genotype_concordance_heatmap_mqc.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: stub
        magelib: stub
    END_VERSIONS
    """
}
