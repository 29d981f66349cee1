process IDENTITY_SITES {
    tag "${vcf}"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"
    container "mage.local/mage-python:dev" // built from the repository's Dockerfile; -profile wave builds it from environment.yml

    input:
    tuple path(vcf), path(index)
    path gtf

    output:
    path "identity_sites.tsv"     , emit: sites
    path "identity_panel.parquet" , emit: panel
    path "versions.yml"           , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    identity_sites.py \\
        --vcf ${vcf} \\
        --gtf ${gtf} \\
        --sites identity_sites.tsv \\
        --panel identity_panel.parquet \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 --version | sed 's/Python //')
        magelib: \$(identity_sites.py --version | sed 's/.*magelib //; s/)//')
    END_VERSIONS
    """

    stub:
    """
    touch identity_sites.tsv identity_panel.parquet

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: stub
        magelib: stub
    END_VERSIONS
    """
}
