process STAR_GENOMEGENERATE {
    tag "${fasta}"
    label 'process_high'

    conda "${moduleDir}/environment.yml"
    container "${ workflow.containerEngine in ['singularity', 'apptainer'] && !task.ext.singularity_pull_docker_container ?
        'https://community-cr-prod.seqera.io/docker/registry/v2/blobs/sha256/26/268b4c9c6cbf8fa6606c9b7fd4fafce18bf2c931d1a809a0ce51b105ec06c89d/data' :
        'community.wave.seqera.io/library/htslib_samtools_star_gawk:ae438e9a604351a4' }"

    input:
    path fasta
    path gtf

    output:
    path "star"        , emit: index
    path "versions.yml", emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    // STAR reads neither gzipped FASTA nor gzipped GTF (GENCODE ships both gzipped): decompress them here
    def gunzip = [ fasta, gtf ].findAll { ref -> ref.name.endsWith('.gz') }.collect { ref -> "gzip -cd ${ref} > ${ref.baseName}" }.join('\n')
    def fasta_plain = fasta.name.endsWith('.gz') ? fasta.baseName : fasta.name
    def gtf_plain = gtf.name.endsWith('.gz') ? gtf.baseName : gtf.name
    def memory = task.memory ? "--limitGenomeGenerateRAM ${task.memory.toBytes() - 100000000}" : ''
    // STAR's rule for small genomes, min(14, log2(genome length) / 2 - 1), unless ext.args sets it
    def auto_sa = !args.contains('--genomeSAindexNbases')
    def count_sa = auto_sa ? "sa_nbases=\$(awk '!/^>/ { n += length(\$0) } END { b = int(log(n) / log(2) / 2 - 1); print (b > 14 ? 14 : b) }' ${fasta_plain})" : ''
    def sa_index = auto_sa ? '--genomeSAindexNbases \$sa_nbases' : ''
    """
    ${gunzip}
    ${count_sa}
    mkdir star
    STAR \\
        --runMode genomeGenerate \\
        --genomeDir star/ \\
        --genomeFastaFiles ${fasta_plain} \\
        --sjdbGTFfile ${gtf_plain} \\
        --runThreadN ${task.cpus} \\
        --outFileNamePrefix star/ \\
        ${sa_index} \\
        ${memory} \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        star: \$(STAR --version | sed -e "s/STAR_//g")
    END_VERSIONS
    """

    stub:
    """
    mkdir star
    touch star/Genome star/SA star/SAindex star/chrName.txt star/sjdbList.out.tab

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        star: stub
    END_VERSIONS
    """
}
