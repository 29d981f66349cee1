process BCFTOOLS_CONCAT {
    tag "${meta.id}"
    label 'process_low'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://community-cr-prod.seqera.io/docker/registry/v2/blobs/sha256/5a/5acacb55c52bec97c61fd34ffa8721fce82ce823005793592e2a80bf71632cd0/data' :
        'community.wave.seqera.io/library/bcftools:1.21--4335bec1d7b44d11' }"

    input:
    tuple val(meta), path(vcfs, stageAs: 'input/*'), path(indices, stageAs: 'input/*')

    output:
    tuple val(meta), path("${prefix}.vcf.gz"), path("${prefix}.vcf.gz.tbi"), emit: vcf
    path "versions.yml"                                                   , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    // Per-chromosome VCFs (as the 1000 Genomes NYGC panel) joined into one, for the steps that read one VCF
    // (samplesheet check, identity sites, plink2 PCA, WASP SNPs). bcftools stops if the sample lists differ.
    // Written to a temporary name and renamed, so a failed run leaves no VCF.
    """
    bcftools concat \\
        --threads ${task.cpus} \\
        --output-type z \\
        --output ${prefix}.tmp.vcf.gz \\
        ${args} \\
        ${vcfs}
    tabix -p vcf ${prefix}.tmp.vcf.gz
    mv ${prefix}.tmp.vcf.gz.tbi ${prefix}.vcf.gz.tbi
    mv ${prefix}.tmp.vcf.gz ${prefix}.vcf.gz

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        bcftools: \$(bcftools --version 2>&1 | head -n 1 | sed 's/^.*bcftools //; s/ .*\$//')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    echo | gzip > ${prefix}.vcf.gz
    touch ${prefix}.vcf.gz.tbi

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        bcftools: stub
    END_VERSIONS
    """
}
