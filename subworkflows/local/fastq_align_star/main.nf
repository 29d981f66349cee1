//
// STAR two-pass alignment with MAGE's options (methods §2.5): index (unless one is given), optional WASP tagging
// at each individual's heterozygous SNPs (reads failing WASP are then removed: MAGE never used the tags, §5 #14),
// coordinate-sorted <library>.bam with its index, junctions for splicing, and alignment QC for MultiQC.
//

include { STAR_GENOMEGENERATE } from '../../../modules/local/star/genomegenerate/main'
include { BCFTOOLS_HETSNPS    } from '../../../modules/local/bcftools/hetsnps/main'
include { STAR_ALIGN          } from '../../../modules/local/star/align/main'
include { SAMTOOLS_INDEX      } from '../../../modules/local/samtools/index/main'
include { SAMTOOLS_FLAGSTAT   } from '../../../modules/local/samtools/flagstat/main'
include { SAMTOOLS_IDXSTATS   } from '../../../modules/local/samtools/idxstats/main'

workflow FASTQ_ALIGN_STAR {

    take:
    ch_reads      // channel: [ val(meta), [ path(fastq_1), path(fastq_2) ] ]  meta: id, individual, sex, ...
    ch_fasta      // channel: path(genome.fa)   value channel (needed only to build the index)
    ch_gtf        // channel: path(genes.gtf)   value channel
    ch_star_index // channel: path(STAR index dir), or channel.empty() to build it from ch_fasta and ch_gtf
    ch_vcf        // channel: [ path(vcf), path(index) ]  value channel, read only when wasp is true
    wasp          // boolean: WASP-tag reads at the individual's heterozygous SNPs and drop those that fail

    main:
    ch_versions      = channel.empty()
    ch_multiqc_files = channel.empty()

    //
    // STAR index: built only when none was given (the take is then empty)
    //
    ch_index_given = ch_star_index.map { _index -> true }.ifEmpty(false)
    ch_to_index    = ch_fasta
        .combine(ch_index_given)
        .filter { _fasta, given -> !given }
        .map { fasta, _given -> fasta }
    STAR_GENOMEGENERATE ( ch_to_index, ch_gtf )
    ch_versions = ch_versions.mix(STAR_GENOMEGENERATE.out.versions)
    ch_index    = ch_star_index.mix(STAR_GENOMEGENERATE.out.index).first()

    //
    // WASP: one heterozygous-SNP VCF per individual, shared by that individual's libraries
    //
    ch_to_align = ch_reads.map { meta, reads -> [ meta, reads, [] ] }
    if (wasp) {
        ch_individuals = ch_reads
            .map { meta, _reads -> [ id: meta.individual, sex: meta.sex ] }
            .unique()
            .combine(ch_vcf)
        BCFTOOLS_HETSNPS ( ch_individuals )
        ch_versions = ch_versions.mix(BCFTOOLS_HETSNPS.out.versions.first())
        ch_to_align = ch_reads
            .map { meta, reads -> [ meta.individual, meta, reads ] }
            .combine(BCFTOOLS_HETSNPS.out.vcf.map { individual, vcf -> [ individual.id, vcf ] }, by: 0)
            .map { _individual, meta, reads, vcf -> [ meta, reads, vcf ] }
    }

    STAR_ALIGN ( ch_to_align, ch_index )
    ch_versions = ch_versions.mix(STAR_ALIGN.out.versions.first())

    SAMTOOLS_INDEX ( STAR_ALIGN.out.bam )
    ch_versions = ch_versions.mix(SAMTOOLS_INDEX.out.versions.first())
    ch_bam      = STAR_ALIGN.out.bam.join(SAMTOOLS_INDEX.out.bai, failOnMismatch: true, failOnDuplicate: true)

    SAMTOOLS_FLAGSTAT ( ch_bam )
    SAMTOOLS_IDXSTATS ( ch_bam )
    ch_versions = ch_versions
        .mix(SAMTOOLS_FLAGSTAT.out.versions.first())
        .mix(SAMTOOLS_IDXSTATS.out.versions.first())

    ch_multiqc_files = ch_multiqc_files
        .mix(STAR_ALIGN.out.log_final.map { _meta, log -> log })
        .mix(STAR_ALIGN.out.read_counts.map { _meta, counts -> counts })
        .mix(SAMTOOLS_FLAGSTAT.out.flagstat.map { _meta, flagstat -> flagstat })
        .mix(SAMTOOLS_IDXSTATS.out.idxstats.map { _meta, idxstats -> idxstats })

    emit:
    bam           = ch_bam                    // channel: [ val(meta), path(<id>.bam), path(<id>.bam.bai) ]
    junctions     = STAR_ALIGN.out.junctions  // channel: [ val(meta), path(<id>.SJ.out.tab) ]
    index         = ch_index                  // channel: path(STAR index dir)   value channel
    multiqc_files = ch_multiqc_files          // channel: path(file)
    versions      = ch_versions               // channel: path(versions.yml)
}
