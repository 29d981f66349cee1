process STAR_ALIGN {
    tag "${meta.id}"
    label 'process_high'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://community-cr-prod.seqera.io/docker/registry/v2/blobs/sha256/26/268b4c9c6cbf8fa6606c9b7fd4fafce18bf2c931d1a809a0ce51b105ec06c89d/data' :
        'community.wave.seqera.io/library/htslib_samtools_star_gawk:ae438e9a604351a4' }"

    input:
    tuple val(meta), path(reads), path(wasp_vcf)   // wasp_vcf: the individual's heterozygous SNPs (plain VCF), or [] for no WASP
    path index

    output:
    tuple val(meta), path("${prefix}.bam")                    , emit: bam
    tuple val(meta), path("${prefix}.SJ.out.tab")             , emit: junctions
    tuple val(meta), path("${prefix}.Log.final.out")          , emit: log_final
    tuple val(meta), path("${prefix}.Log.out")                , emit: log_out
    tuple val(meta), path("${prefix}.ReadsPerGene.out.tab")   , emit: read_counts, optional: true
    tuple val(meta), path("${prefix}.Chimeric.out.junction")  , emit: chimeric   , optional: true
    path "versions.yml"                                       , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    def sam_type = args.contains('--outSAMtype') ? '' : '--outSAMtype BAM SortedByCoordinate'
    def gz = [ reads ].flatten().any { fastq -> fastq.toString().endsWith('.gz') }
    def unzip = gz && !args.contains('--readFilesCommand') ? '--readFilesCommand zcat' : ''
    def wasp = wasp_vcf ? "--waspOutputMode SAMtag --varVCFfile ${wasp_vcf}" : ''
    // MAGE tagged reads with WASP but never filtered them (methods §5 #14): drop reads that fail WASP (vW:i:2..7)
    // unless ext.wasp_filter is false. Reads without a vW tag overlap no het SNP and are kept.
    def wasp_filter = wasp_vcf && task.ext.wasp_filter != false ?
        "samtools view --threads ${task.cpus} --bam --expr '![vW] || [vW] == 1' --output ${prefix}.wasp.bam ${prefix}.bam && mv ${prefix}.wasp.bam ${prefix}.bam" : ''
    """
    STAR \\
        --runMode alignReads \\
        --runThreadN ${task.cpus} \\
        --genomeDir ${index} \\
        --readFilesIn ${reads} \\
        ${unzip} \\
        --outFileNamePrefix ${prefix}. \\
        --outSAMattrRGline ID:${prefix} SM:${prefix} \\
        ${sam_type} \\
        ${wasp} \\
        ${args}

    # The BAM is named <library>.bam, as the splicing steps expect (MAGE never renamed it: methods §5 #15)
    mv ${prefix}.Aligned.sortedByCoord.out.bam ${prefix}.bam
    ${wasp_filter}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        star: \$(STAR --version | sed -e "s/STAR_//g")
        samtools: \$(samtools --version | head -n 1 | sed 's/samtools //')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.bam ${prefix}.SJ.out.tab ${prefix}.Log.final.out ${prefix}.Log.out ${prefix}.ReadsPerGene.out.tab

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        star: stub
        samtools: stub
    END_VERSIONS
    """
}
