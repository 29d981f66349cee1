process PLINK2_VCF2PGEN {
    tag "${meta.id}"
    label 'process_low'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://depot.galaxyproject.org/singularity/plink2:2.00a5.10--h4ac6f70_0' :
        'biocontainers/plink2:2.00a5.10--h4ac6f70_0' }"

    input:
    tuple val(meta), path(vcf), path(tbi)
    path keep

    output:
    tuple val(meta), path("${prefix}.pgen"), path("${prefix}.pvar"), path("${prefix}.psam"), emit: pgen
    path "versions.yml"                                                                      , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    def mem_mb = task.memory ? task.memory.toMega() : 2000
    def keep_arg = keep ? "--keep ${keep}" : ''
    // plink2 --keep silently skips IDs absent from the VCF: fail naming them instead.
    def check_keep = keep ? """
    awk 'NR == FNR { if (\$1 !~ /^#/) in_vcf[\$1] = 1; next }
         NF && !(\$1 in in_vcf) { printf "ERROR: individual %s (${keep}) is not a sample in the VCF ${vcf}\\n", \$1 > "/dev/stderr"; missing = 1 }
         END { exit missing }' ${prefix}.psam ${keep}
    """ : ''
    """
    plink2 \\
        --threads ${task.cpus} \\
        --memory ${mem_mb} \\
        --vcf ${vcf} \\
        ${keep_arg} \\
        --set-all-var-ids '@:#:\$r:\$a' \\
        --new-id-max-allele-len 1000 truncate \\
        --rm-dup exclude-all \\
        ${args} \\
        --make-pgen \\
        --out ${prefix}
    ${check_keep}
    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        plink2: \$(plink2 --version 2>&1 | sed 's/^PLINK v//; s/ .*//')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.pgen ${prefix}.pvar ${prefix}.psam

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        plink2: stub
    END_VERSIONS
    """
}
