process TXIMPORT_GENES {
    tag "${quants instanceof List ? quants.size() : 1} libraries"
    label 'process_medium'

    conda "${moduleDir}/environment.yml"
    container "mage.local/mage-python:dev" // built from the repository's Dockerfile; -profile wave builds it from environment.yml

    input:
    path quants, stageAs: 'quant/*'
    path read_pairs, stageAs: 'read_pairs/*'
    path declared_strandedness
    path gtf

    output:
    path "gene_counts.tsv"         , emit: counts
    path "gene_tpm.tsv"            , emit: tpm
    path "gene_lengths.tsv"        , emit: lengths
    path "strandedness.status.tsv" , emit: status
    path "*_mqc.tsv"               , emit: multiqc
    path "versions.yml"            , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def args2 = task.ext.args2 ?: ''
    """
    # Strandedness first: with --action fail a disagreement stops the run before the gene matrices are written.
    strandedness_check.py \\
        --quant ${quants} \\
        --declared ${declared_strandedness} \\
        --status strandedness.status.tsv \\
        --mqc strandedness_mqc.tsv \\
        ${args2}

    tximport_genes.py \\
        --quant ${quants} \\
        --gtf ${gtf} \\
        --read-pairs ${read_pairs} \\
        --outdir . \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: \$(python3 --version | sed 's/Python //')
        magelib: \$(tximport_genes.py --version | sed 's/.*magelib //; s/)//')
    END_VERSIONS
    """

    stub:
    """
    for name in counts tpm lengths; do
        printf 'gene_id\\n' > gene_\${name}.tsv
    done
    printf 'sample\\tstep\\tstatus\\treason\\n' > strandedness.status.tsv
    touch strandedness_mqc.tsv quant_summary_mqc.tsv

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        python: stub
        magelib: stub
    END_VERSIONS
    """
}
