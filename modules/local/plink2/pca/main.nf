process PLINK2_PCA {
    tag "${meta.id}"
    label 'process_low'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/plink2:2.00a5.10--h4ac6f70_0' :
        'biocontainers/plink2:2.00a5.10--h4ac6f70_0' }"

    input:
    tuple val(meta), path(pgen), path(pvar), path(psam)
    path extract

    output:
    tuple val(meta), path("${prefix}.eigenvec"), emit: eigenvec
    tuple val(meta), path("${prefix}.eigenval"), emit: eigenval
    path "versions.yml"                        , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    def n_pcs = task.ext.n_pcs ?: 20
    def mem_mb = task.memory ? task.memory.toMega() : 2000
    def extract_arg = extract ? "--extract ${extract}" : ''
    """
    # At most N - 1 PCs exist for N samples; plink2 also wants >= 50 samples to estimate allele frequencies.
    n_samples=\$(grep -vc '^#' ${psam} || true)
    n_pcs=${n_pcs}
    if [ "\$n_pcs" -gt \$((n_samples - 1)) ]; then
        n_pcs=\$((n_samples - 1))
        echo "WARNING: computing \$n_pcs PCs (\$n_samples samples) instead of ${n_pcs}" >&2
    fi
    bad_freqs=''
    if [ "\$n_samples" -lt 50 ]; then
        echo "WARNING: allele frequencies estimated from only \$n_samples samples (--bad-freqs)" >&2
        bad_freqs='--bad-freqs'
    fi

    plink2 \\
        --threads ${task.cpus} \\
        --memory ${mem_mb} \\
        --pfile ${pgen.baseName} \\
        ${extract_arg} \\
        --pca \$n_pcs \\
        \$bad_freqs \\
        ${args} \\
        --out ${prefix}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        plink2: \$(plink2 --version 2>&1 | sed 's/^PLINK v//; s/ .*//')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    printf '#IID\\tPC1\\n' > ${prefix}.eigenvec
    touch ${prefix}.eigenval

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        plink2: stub
    END_VERSIONS
    """
}
