process AFC_ESTIMATE {
    tag "${meta.id}"
    label 'process_single'

    conda "${moduleDir}/environment.yml"
    container "mage.local/mage-python:dev" // built from the repository's Dockerfile; -profile wave builds it from environment.yml

    input:
    tuple val(meta), path(eqtls)
    tuple path(vcf), path(vcf_index)
    tuple path(phenotypes), path(phenotypes_index)
    path covariates

    output:
    tuple val(meta), path("${prefix}.afc.txt.gz")    , emit: afc
    tuple val(meta), path("${prefix}.afc_status.tsv"), emit: status
    path "${prefix}.afc_*_mqc.*"                     , emit: multiqc
    path "versions.yml"                              , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    afc.py \\
        --vcf ${vcf} \\
        --phenotypes ${phenotypes} \\
        --covariates ${covariates} \\
        --eqtls ${eqtls} \\
        --label ${meta.id} \\
        --out ${prefix} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 --version | sed 's/Python //')
        magelib: \$(afc.py --version | sed 's/.*magelib //; s/)//')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    echo | gzip -n > ${prefix}.afc.txt.gz
    printf 'gene_id\\tstatus\\treason\\tn_samples\\n' > ${prefix}.afc_status.tsv
    echo '{}' > ${prefix}.afc_distribution_mqc.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: stub
        magelib: stub
    END_VERSIONS
    """
}
