process BCFTOOLS_HETSNPS {
    tag "${meta.id}"
    label 'process_low'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://community-cr-prod.seqera.io/docker/registry/v2/blobs/sha256/5a/5acacb55c52bec97c61fd34ffa8721fce82ce823005793592e2a80bf71632cd0/data' :
        'community.wave.seqera.io/library/bcftools:1.21--4335bec1d7b44d11' }"

    input:
    tuple val(meta), path(vcf), path(index)   // meta.id: the individual (a VCF sample name)

    output:
    tuple val(meta), path("${prefix}.het_snps.vcf"), emit: vcf
    path "versions.yml"                            , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    // One individual's heterozygous biallelic SNPs, as MAGE built them for STAR's WASP (methods §2.5); plain VCF,
    // which is what STAR --varVCFfile reads. ext.args can restrict contigs (MAGE: no chrX for males).
    // -g/--genotype looks at every sample of its input, so the sample is subset first, in its own view.
    """
    bcftools view \\
        --samples ${meta.id} \\
        --trim-alt-alleles \\
        --output-type u \\
        ${args} \\
        ${vcf} \\
    | bcftools view \\
        --types snps \\
        --min-alleles 2 \\
        --max-alleles 2 \\
        --genotype het \\
        --output-type v \\
        --output ${prefix}.het_snps.vcf

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        bcftools: \$(bcftools --version 2>&1 | head -n 1 | sed 's/^.*bcftools //; s/ .*\$//')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.het_snps.vcf

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        bcftools: stub
    END_VERSIONS
    """
}
