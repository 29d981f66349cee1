import org.codehaus.groovy.ast.ModuleNode
import org.codehaus.groovy.ast.expr.ClosureExpression
import org.codehaus.groovy.ast.expr.ConstantExpression
import org.codehaus.groovy.ast.expr.Expression
import org.codehaus.groovy.ast.stmt.ExpressionStatement
import org.codehaus.groovy.ast.stmt.Statement
import org.codehaus.groovy.runtime.GStringImpl

/**
 * Renders the script: (or stub:) section of one process for one task, as Nextflow does, without Nextflow:
 * the statements after the label, up to the next section label, are cut from the source and evaluated by a
 * GroovyShell whose binding holds the declared inputs, `task`, `moduleDir`, `projectDir`, `log` and a `workflow` stub.
 * The last value is the script; like Nextflow, path values in it are shell-escaped, its indent is stripped and a
 * bash shebang is added. Variables the section sets without `def` (prefix = ...) stay in the binding, which is
 * then used to evaluate each output declaration's path patterns.
 */
class NfRender {

    static final Set<String> SECTIONS = ['input', 'output', 'when', 'script', 'shell', 'exec', 'stub'] as Set

    /** Request keys: main_nf, process (or null), inputs, ext, cpus, memory, stub, project_dir, extra_binding. */
    static Map render(Map request) {
        def file = new File((String) request.main_nf)
        def text = file.getText('UTF-8')
        def process = findProcess(NfAst.parseModule(text, file.name), (String) request.process, file)
        def sections = sectionStatements(process.body)
        def lines = text.split('\n', -1) as List<String>

        def declared = NfAst.summariseProcess(process.name, process.body, 0).inputs*.names.flatten().findAll { it.kind != 'env' }
        def binding = makeBinding(request, process.name, declared, file)

        def wanted = request.stub ? 'stub' : 'script'
        if (!sections[wanted]) {
            def other = sections.keySet().intersect(['shell', 'exec'] as Set)
            throw new RenderError("process ${process.name} in ${file} has no ${wanted}: section" + (other ? " (${other.join(', ')}: is not supported)" : ''))
        }
        def source = slice(lines, sections[wanted][0], sections[wanted][-1])
        def value
        try {
            value = new GroovyShell(binding).evaluate(source, "${process.name}_${wanted}.groovy")
        }
        catch (MissingPropertyException e) {
            throw new RenderError("${wanted}: section of ${process.name} uses `${e.property}`, which is not an input, not in the binding and not set earlier in the section")
        }
        if (!(value instanceof CharSequence)) throw new RenderError("${wanted}: section of ${process.name} does not end with a string (got ${value?.getClass()?.name})")

        def emits = [], optional = [], patternArgs = []
        (sections.output ?: []).eachWithIndex { Statement stmt, int index ->
            def expr = ((ExpressionStatement) stmt).expression
            def options = NfAst.namedOptions(expr)
            def emit = options.emit ?: "out[${index}]".toString()
            def args = []
            NfAst.eachDeclaration(expr) { String kind, List decl -> if (kind in ['path', 'file'] && decl) args << decl[0] }
            emits << [emit, args.size()]
            patternArgs.addAll(args)
            if (options.optional == 'true') optional << emit
        }
        def patterns = evaluatePatterns(patternArgs, lines, binding, process.name)
        def outputs = [:]
        emits.each { emit, count -> outputs[emit] = patterns.take(count); patterns = patterns.drop(count) }
        return [process: process.name, script: normalise(value), outputs: outputs, optional: optional, inputs: declared*.name]
    }

    static Map findProcess(ModuleNode module, String wanted, File file) {
        def found = module.statementBlock.statements.collect { Statement stmt ->
            def call = NfAst.asCall(stmt)
            call?.methodAsString == 'process' ? NfAst.definedBlock(call) : null
        }.findAll()
        def names = found*.name
        if (wanted) {
            def match = found.find { it.name == wanted }
            if (!match) throw new RenderError("no process ${wanted} in ${file} (found: ${names.join(', ') ?: 'none'})")
            return match
        }
        if (found.size() != 1) throw new RenderError("${file} defines ${found.size()} processes (${names.join(', ')}): name the one to render")
        return found[0]
    }

    /** Statements of each section, keyed by label: everything after the label up to the next section label. */
    static Map<String, List<Statement>> sectionStatements(ClosureExpression body) {
        def sections = [:]
        String current = null
        for (Statement stmt : NfAst.statements(body)) {
            def label = stmt.statementLabels?.findAll { it in SECTIONS }
            if (label) current = label[-1]
            if (current) sections.computeIfAbsent(current) { [] } << stmt
        }
        return sections
    }

    static Binding makeBinding(Map request, String processName, List declared, File mainNf) {
        Map inputs = request.inputs ?: [:]
        def names = declared*.name
        def missing = names - inputs.keySet()
        def unknown = inputs.keySet() - names
        if (missing || unknown) {
            def msg = "inputs of ${processName} are ${names}"
            if (missing) msg += "; missing: ${missing}"
            if (unknown) msg += "; not declared: ${unknown as List}"
            throw new RenderError(msg)
        }
        def binding = new Binding()
        declared.each { Map d ->
            def value = plain(inputs[d.name])
            binding.setVariable(d.name, d.kind in ['path', 'file'] ? NfPath.wrap(value) : value)
        }
        def ext = [args: null, args2: null, args3: null, prefix: null] + (plain(request.ext) ?: [:])
        binding.setVariable('task', [
                process: processName, name: "${processName} (1)".toString(), index: 1, attempt: 1,
                cpus: request.cpus, memory: request.memory == null ? null : MemoryUnit.of(request.memory.toString()),
                time: null, ext: ext, workDir: new File('.').absoluteFile.toPath(),
        ])
        def projectDir = new File((String) request.project_dir).toPath()
        binding.setVariable('moduleDir', mainNf.absoluteFile.parentFile.toPath())
        binding.setVariable('projectDir', projectDir)
        binding.setVariable('baseDir', projectDir)
        binding.setVariable('workflow', [containerEngine: null, profile: 'test', projectDir: projectDir,
                                         runName: 'render', sessionId: '00000000-0000-0000-0000-000000000000', stubRun: request.stub as boolean])
        binding.setVariable('log', ['trace', 'debug', 'info', 'warn', 'error'].collectEntries { level ->
            [(level): { Object... msg -> System.err.println("${level.toUpperCase()}: ${msg[0]}") }]
        })
        (plain(request.extra_binding) ?: [:]).each { k, v -> binding.setVariable(k, v) }
        return binding
    }

    /** Source text from the start of the first statement to the end of the last (1-based lines and columns). */
    static String slice(List<String> lines, first, last) {
        int l1 = first.lineNumber, c1 = first.columnNumber, l2 = last.lastLineNumber, c2 = last.lastColumnNumber
        if (l1 == l2) return lines[l1 - 1].substring(c1 - 1, c2 - 1)
        def parts = [lines[l1 - 1].substring(c1 - 1)]
        parts.addAll(lines.subList(l1, l2 - 1))
        parts << lines[l2 - 1].substring(0, c2 - 1)
        return parts.join('\n')
    }

    /** The output path patterns as strings: constants as written, the others evaluated together (one compilation). */
    static List<String> evaluatePatterns(List<Expression> args, List<String> lines, Binding binding, String processName) {
        def texts = args.collect { it instanceof ConstantExpression ? null : slice(lines, it, it) }
        def dynamic = texts.findAll { it != null }
        def values = []
        if (dynamic) {
            try {
                values = new GroovyShell(binding).evaluate('[' + dynamic.collect { "(${it})" }.join(',\n') + ']', "${processName}_output.groovy")
            }
            catch (MissingPropertyException e) {
                throw new RenderError("an output of ${processName} uses `${e.property}`, which the script does not set " +
                        "(a variable declared with `def` is local to the script: set it without `def`)")
            }
        }
        def iterator = values.iterator()
        return [args, texts].transpose().collect { arg, text -> text == null ? arg.value.toString() : iterator.next().toString() }
    }

    /** Nextflow escapes path values in the script GString, strips the indent, trims and adds the shebang. */
    static String normalise(CharSequence value) {
        String script
        if (value instanceof GString) {
            def values = value.values.collect { it instanceof NfPath ? it.escaped() : it instanceof PathList ? it.escaped() : it }
            script = new GStringImpl(values as Object[], value.strings).toString()
        }
        else script = value.toString()
        script = script.stripIndent(true).trim() + '\n'
        return script.startsWith('#!') ? script : '#!/bin/bash -euo pipefail\n' + script
    }

    /** JSON values (lazy maps, big decimals) to plain Groovy collections. */
    static plain(value) {
        if (value instanceof Map) return value.collectEntries { k, v -> [(k): plain(v)] } as LinkedHashMap
        if (value instanceof List) return value.collect { plain(it) }
        return value
    }
}

class RenderError extends RuntimeException {
    RenderError(String message) { super(message) }
}

/** A staged input file: renders as its name, like Nextflow's task paths; reads[0] works on a single file too. */
class NfPath implements Comparable<NfPath> {
    final String path

    NfPath(String path) { this.path = path }

    /** One name -> NfPath; several -> a PathList (Nextflow gives a single path for a one-element list). */
    static wrap(value) {
        if (value == null) return null
        if (value instanceof List) return value.size() == 1 ? new NfPath(value[0].toString()) : new PathList(value.collect { new NfPath(it.toString()) })
        return new NfPath(value.toString())
    }

    String getName() { path.replaceAll('/+$', '').tokenize('/')[-1] }
    String getBaseName() { def n = getName(); n.contains('.') ? n.substring(0, n.lastIndexOf('.')) : n }
    String getSimpleName() { def n = getName(); n.contains('.') ? n.substring(0, n.indexOf('.')) : n }
    String getExtension() { def n = getName(); n.contains('.') ? n.substring(n.lastIndexOf('.') + 1) : '' }
    NfPath getAt(int index) {
        if (index != 0 && index != -1) throw new IndexOutOfBoundsException("index ${index} on the single path ${path}")
        return this
    }
    int size() { 1 }
    String escaped() { path.replaceAll(/([ !"#$&'()*;<>?\[\\\]`{|}~])/, '\\\\$1') }
    String toString() { path }
    int compareTo(NfPath other) { path <=> other.path }
    boolean equals(Object other) { other instanceof NfPath && other.path == path }
    int hashCode() { path.hashCode() }
}

/** Several staged files (Nextflow's BlankSeparatedList): a List that renders space-separated. */
class PathList extends ArrayList<NfPath> {
    PathList(Collection<NfPath> items) { super(items) }
    String escaped() { collect { NfPath it -> it.escaped() }.join(' ') }
    String toString() { collect { NfPath it -> it.path }.join(' ') }
}

/** task.memory: prints like Nextflow's MemoryUnit ("4 GB") and converts with toGiga() etc. (rounding down). */
class MemoryUnit implements Comparable<MemoryUnit> {
    static final List<String> UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB']
    final long bytes

    MemoryUnit(long bytes) { this.bytes = bytes }

    static MemoryUnit of(String text) {
        def m = text.trim() =~ /^(\d+(?:\.\d+)?)\s*\.?\s*([KMGTP]?B)$/
        if (!m.matches()) throw new RenderError("memory '${text}' is not like '4 GB' or '500.MB'")
        return new MemoryUnit((long) (new BigDecimal(m.group(1)) * (1L << (10 * UNITS.indexOf(m.group(2))))))
    }

    long toBytes() { bytes }
    long toKilo() { bytes >> 10 }
    long toMega() { bytes >> 20 }
    long toGiga() { bytes >> 30 }
    long getKilo() { toKilo() }
    long getMega() { toMega() }
    long getGiga() { toGiga() }
    MemoryUnit multiply(Number n) { new MemoryUnit((long) (bytes * n)) }
    MemoryUnit div(Number n) { new MemoryUnit((long) (bytes / n)) }
    int compareTo(MemoryUnit other) { bytes <=> other.bytes }

    String toString() {
        if (bytes <= 0) return '0'
        int group = Math.min((int) (Math.log10(bytes) / Math.log10(1024)), UNITS.size() - 1)
        return new java.text.DecimalFormat('0.#', java.text.DecimalFormatSymbols.getInstance(Locale.ROOT)).format(bytes / Math.pow(1024, group)) + ' ' + UNITS[group]
    }
}
