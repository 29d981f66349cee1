process GENOTYPES_PREPARE {
    tag "${meta.id}"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"
    container "mage.local/mage-python:dev" // built from the repository's Dockerfile; -profile wave builds it from environment.yml

    input:
    tuple val(meta), path(vcfs), path(indices)
    path samples
    path keep      // TSV with an 'individual' column: the individuals that reach QTL mapping, or [] for all

    output:
    tuple val(meta), path("${prefix}.genotypes"), emit: store
    path "versions.yml"                          , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    def keep_arg = keep ? "--keep ${keep}" : ''
    """
    prepare_genotypes.py \\
        --vcf ${vcfs} \\
        --samples ${samples} \\
        ${keep_arg} \\
        --out ${prefix}.genotypes \\
        --threads ${task.cpus} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 --version | sed 's/Python //')
        magelib: \$(prepare_genotypes.py --version | sed 's/.*magelib //; s/)//')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    mkdir ${prefix}.genotypes
    printf '{"format": "mage-genotype-store", "version": 1, "samples": [], "chromosomes": {}}\\n' > ${prefix}.genotypes/manifest.json
    touch ${prefix}.genotypes/samples.txt

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: stub
        magelib: stub
    END_VERSIONS
    """
}
