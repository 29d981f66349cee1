process BCFTOOLS_MPILEUP {
    tag "${meta.id}"
    label 'process_low'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://community-cr-prod.seqera.io/docker/registry/v2/blobs/sha256/5a/5acacb55c52bec97c61fd34ffa8721fce82ce823005793592e2a80bf71632cd0/data' :
        'community.wave.seqera.io/library/bcftools:1.21--4335bec1d7b44d11' }"

    input:
    tuple val(meta), path(bam), path(bai)
    path sites   // CHROM<TAB>POS of the identity sites (IDENTITY_SITES)

    output:
    tuple val(meta), path("${prefix}.allele_counts.tsv.gz"), emit: counts
    path "versions.yml"                                    , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    // Read counts per allele (FORMAT/AD) at the identity sites, through the BAM index. No reference is needed:
    // REF is then 'N' and every base seen is listed in ALT with its count; genotype_concordance.py matches the
    // VCF's REF and ALT bases. First line: #library<TAB><id>.
    """
    {
        printf '#library\\t%s\\n' "${meta.id}"
        bcftools mpileup \\
            --no-reference \\
            --annotate FORMAT/AD \\
            --regions-file ${sites} \\
            --output-type u \\
            ${args} \\
            ${bam} \\
        | bcftools query --format '%CHROM\\t%POS\\t%REF\\t%ALT\\t[%AD]\\n'
    } | bgzip -c > ${prefix}.allele_counts.tsv.gz

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        bcftools: \$(bcftools --version 2>&1 | head -n 1 | sed 's/^.*bcftools //; s/ .*\$//')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    printf '#library\\t%s\\n' "${meta.id}" | bgzip -c > ${prefix}.allele_counts.tsv.gz

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        bcftools: stub
    END_VERSIONS
    """
}
