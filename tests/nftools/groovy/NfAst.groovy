import org.codehaus.groovy.ast.CodeVisitorSupport
import org.codehaus.groovy.ast.ModuleNode
import org.codehaus.groovy.ast.expr.BinaryExpression
import org.codehaus.groovy.ast.expr.CastExpression
import org.codehaus.groovy.ast.expr.ClosureExpression
import org.codehaus.groovy.ast.expr.ConstantExpression
import org.codehaus.groovy.ast.expr.Expression
import org.codehaus.groovy.ast.expr.MapExpression
import org.codehaus.groovy.ast.expr.MethodCallExpression
import org.codehaus.groovy.ast.expr.PropertyExpression
import org.codehaus.groovy.ast.expr.TupleExpression
import org.codehaus.groovy.ast.expr.VariableExpression
import org.codehaus.groovy.ast.stmt.BlockStatement
import org.codehaus.groovy.ast.stmt.ExpressionStatement
import org.codehaus.groovy.ast.stmt.Statement
import org.codehaus.groovy.control.CompilationFailedException
import org.codehaus.groovy.control.CompilationUnit
import org.codehaus.groovy.control.MultipleCompilationErrorsException
import org.codehaus.groovy.control.Phases
import org.codehaus.groovy.control.messages.SyntaxErrorMessage
import org.codehaus.groovy.syntax.Types

/**
 * Reads Nextflow DSL2 scripts (.nf), configs (.config) and nf-test files (.nf.test) with the Groovy 4 parser and
 * summarises what the structure checks need as plain maps (turned into JSON by NfServer).
 *
 * Only the CONVERSION phase runs: the syntax tree as written, before any Nextflow AST transform. DSL2 is Groovy
 * syntax, so `process FOO { ... }` is the call process(FOO({ ... })), `input:`/`script:` are statement labels,
 * `include { A; B as C } from './x'` is include({ A; B as C }).from('./x') and a config `withName: 'X' { }` is a
 * statement labelled withName whose expression is the call 'X'({ ... }).
 */
class NfAst {

    /** Parse source text to its module node; throws CompilationFailedException on a syntax error. */
    static ModuleNode parseModule(String text, String name) {
        def unit = new CompilationUnit()
        def source = unit.addSource(name, text)
        unit.compile(Phases.CONVERSION)
        return source.getAST()
    }

    /** Summarise one file; a syntax error gives {error: {line, column, message}} and nothing else. */
    static Map summarise(File file) {
        def kind = file.name.endsWith('.nf.test') ? 'nftest' : file.name.endsWith('.config') ? 'config' : 'nf'
        Map result = [path: file.path, kind: kind, error: null]
        ModuleNode module
        try {
            module = parseModule(file.getText('UTF-8'), file.name)
        }
        catch (CompilationFailedException e) {
            result.error = refineError(file.getText('UTF-8'), describeError(e), 0)
            return result
        }
        if (kind == 'nf') result.putAll(summariseScript(module))
        else if (kind == 'config') result.putAll(summariseConfig(module))
        else result.putAll(summariseNfTest(module))
        return result
    }

    static Map describeError(CompilationFailedException e) {
        if (e instanceof MultipleCompilationErrorsException) {
            def first = e.errorCollector.errors.find { it instanceof SyntaxErrorMessage }
            if (first) {
                def cause = ((SyntaxErrorMessage) first).cause
                return [line: cause.line, column: cause.startColumn, message: cause.originalMessage]
            }
        }
        return [line: null, column: null, message: e.message]
    }

    /**
     * The parser blames the opening brace of a block (`workflow X {`, `process {`) for an error anywhere inside it.
     * Parse the block's body alone to find the real line, and recurse into nested blocks.
     */
    static Map refineError(String text, Map error, int depth) {
        if (depth > 20 || error.line == null || !(error.message ==~ /Unexpected input: '\{'.*/)) return error
        def lines = text.split('\n', -1)
        int open = (0..<(error.line - 1)).sum(0) { lines[it].length() + 1 } + error.column - 1
        if (open >= text.length() || text.charAt(open) != '{' as char) return error
        int close = closingBrace(text, open)
        if (close == text.length()) return error + [message: error.message + " (a '{' in the block opened here is never closed)"]
        def body = text.substring(open + 1, close)
        try {
            parseModule(body, 'block')
            return error
        }
        catch (CompilationFailedException e) {
            def inner = refineError(body, describeError(e), depth + 1)
            if (inner.line == null) return error
            int line = error.line + inner.line - 1
            int column = inner.line == 1 ? error.column + inner.column : inner.column
            return [line: line, column: column, message: inner.message]
        }
    }

    /** Index of the brace closing the one at `open`, skipping strings and comments (the text length if none). */
    static int closingBrace(String text, int open) {
        int depth = 0, i = open
        while (i < text.length()) {
            def rest = text.substring(i, Math.min(i + 3, text.length()))
            char c = text.charAt(i)
            if (rest.startsWith('//')) i = text.indexOf('\n', i) < 0 ? text.length() : text.indexOf('\n', i)
            else if (rest.startsWith('/*')) i = text.indexOf('*/', i + 2) < 0 ? text.length() : text.indexOf('*/', i + 2) + 2
            else if (rest in ['"""', "'''"]) i = skipString(text, i + 3, rest)
            else if (c == '"' as char || c == "'" as char) i = skipString(text, i + 1, c as String)
            else {
                if (c == '{' as char) depth++
                if (c == '}' as char && --depth == 0) return i
                i++
            }
        }
        return text.length()
    }

    static int skipString(String text, int i, String quote) {
        while (i < text.length()) {
            if (text.charAt(i) == '\\' as char) i += 2
            else if (text.startsWith(quote, i)) return i + quote.length()
            else if (quote.length() == 1 && text.charAt(i) == '\n' as char) return i + 1  // unterminated: stop at the line end
            else i++
        }
        return text.length()
    }

    // ---------------------------------------------------------------- scripts (.nf)

    static Map summariseScript(ModuleNode module) {
        def processes = [], workflows = [], includes = []
        for (Statement stmt : module.statementBlock.statements) {
            def call = asCall(stmt)
            if (!call) continue
            def definition = definedBlock(call)
            if (call.methodAsString == 'process' && definition) {
                processes << summariseProcess(definition.name, definition.body, call.lineNumber)
            }
            else if (call.methodAsString == 'workflow' && call.implicitThis) {
                def body = closureArg(call)
                if (body) workflows << summariseWorkflow(null, body, call.lineNumber)
                else if (definition) workflows << summariseWorkflow(definition.name, definition.body, call.lineNumber)
            }
            else {
                def include = includeOf(call)
                if (include) includes.addAll(include)
            }
        }
        def refs = new RefCollector()
        module.statementBlock.visit(refs)
        module.methods.each { it.code?.visit(refs) }
        return [processes: processes, workflows: workflows, includes: includes,
                functions: module.methods*.name, params_used: refs.params]
    }

    /** `process NAME { ... }` and `workflow NAME { ... }` -> [name, body] of the inner call NAME({ ... }). */
    static Map definedBlock(MethodCallExpression call) {
        def args = argList(call)
        if (!call.implicitThis || args.size() != 1 || !(args[0] instanceof MethodCallExpression)) return null
        def inner = (MethodCallExpression) args[0]
        def body = closureArg(inner)
        return body && inner.implicitThis ? [name: inner.methodAsString, body: body] : null
    }

    static Map summariseProcess(String name, ClosureExpression body, int line) {
        def sections = [], inputs = [], outputs = [], directives = [:]
        String section = null
        for (Statement stmt : statements(body)) {
            if (stmt.statementLabels) {
                section = stmt.statementLabels[-1]
                sections.addAll(stmt.statementLabels)
            }
            def expr = stmt instanceof ExpressionStatement ? ((ExpressionStatement) stmt).expression : null
            if (section == null && expr instanceof MethodCallExpression && expr.implicitThis) {
                def args = argList(expr)
                directives[expr.methodAsString] = [line: stmt.lineNumber, value: args ? args[-1].text : null]
            }
            else if (section == 'input' && expr) {
                inputs << [line: stmt.lineNumber, text: expr.text, names: declaredNames(expr)]
            }
            else if (section == 'output' && expr) {
                def options = namedOptions(expr)
                outputs << [line: stmt.lineNumber, text: expr.text, emit: options.emit, optional: options.optional == 'true']
            }
        }
        def refs = new RefCollector()
        body.code.visit(refs)
        return [name: name, line: line, sections: sections, directives: directives, inputs: inputs,
                outputs: outputs, params_used: refs.params]
    }

    static Map summariseWorkflow(String name, ClosureExpression body, int line) {
        def take = [], emit = []
        String section = null
        for (Statement stmt : statements(body)) {
            if (stmt.statementLabels) section = stmt.statementLabels[-1]
            def expr = stmt instanceof ExpressionStatement ? ((ExpressionStatement) stmt).expression : null
            if (section == 'take') take << [name: expr instanceof VariableExpression ? expr.name : null, line: stmt.lineNumber]
            if (section == 'emit') emit << [name: emitName(expr), line: stmt.lineNumber]
        }
        def refs = new RefCollector()
        body.code.visit(refs)
        return [name: name, line: line, take: take, emit: emit, calls: refs.calls, out_refs: refs.outRefs,
                params_used: refs.params]
    }

    /** `emit: x` or `emit: x = expr` name the output x; anything else is unnamed (Nextflow numbers it). */
    static String emitName(Expression expr) {
        if (expr instanceof VariableExpression) return expr.name
        if (expr instanceof BinaryExpression && expr.operation.type == Types.ASSIGN && expr.leftExpression instanceof VariableExpression)
            return ((VariableExpression) expr.leftExpression).name
        return null
    }

    /** include({ A; B as C }).from('./x')[.addParams(...)] -> one entry per name, source null when dynamic. */
    static List includeOf(MethodCallExpression call) {
        while (call && call.methodAsString != 'from') call = call.objectExpression instanceof MethodCallExpression ? call.objectExpression : null
        if (!call || !(call.objectExpression instanceof MethodCallExpression)) return null
        def include = (MethodCallExpression) call.objectExpression
        def body = closureArg(include)
        if (include.methodAsString != 'include' || !body) return null
        def args = argList(call)
        String source = args && args[0] instanceof ConstantExpression ? args[0].value : null
        return statements(body).collect { Statement stmt ->
            def expr = ((ExpressionStatement) stmt).expression
            if (expr instanceof CastExpression) {
                return [name: expr.expression.text, alias: expr.type.name, source: source, line: stmt.lineNumber]
            }
            return [name: expr.text, alias: null, source: source, line: stmt.lineNumber]
        }
    }

    /** Variable names declared by an input statement, e.g. tuple val(meta), path(reads) -> meta, reads. */
    static List declaredNames(Expression expr) {
        def names = []
        eachDeclaration(expr) { String kind, List args ->
            def variable = args.find { it instanceof VariableExpression }
            if (variable) names << [name: variable.name, kind: kind]
        }
        return names
    }

    static final Set<String> DECLARATIONS = ['val', 'path', 'file', 'env', 'each', 'stdin', 'stdout', 'eval'] as Set

    /** Visit the leaf declarations (val/path/env/...) of an input or output statement, inside tuple(...) too. */
    static void eachDeclaration(Expression expr, Closure action) {
        if (expr instanceof VariableExpression && expr.name in ['stdin', 'stdout']) action(expr.name, [])
        if (!(expr instanceof MethodCallExpression)) return
        def args = argList(expr).findAll { !(it instanceof MapExpression) }
        if (expr.methodAsString == 'tuple') args.each { eachDeclaration(it, action) }
        else if (expr.methodAsString in DECLARATIONS) action(expr.methodAsString, args)
    }

    /** The named options of a declaration (emit:, optional:, topic:), from the outer call and its leaves. */
    static Map namedOptions(Expression expr) {
        def options = [:]
        if (!(expr instanceof MethodCallExpression)) return options
        argList(expr).each { arg ->
            if (arg instanceof MapExpression) arg.mapEntryExpressions.each { options[it.keyExpression.text] = it.valueExpression.text }
            else if (arg instanceof MethodCallExpression) namedOptions(arg).each { k, v -> options.putIfAbsent(k, v) }
        }
        return options
    }

    // ---------------------------------------------------------------- configs (.config)

    static Map summariseConfig(ModuleNode module) {
        def out = [selectors: [], params_declared: [], params_used: [], include_configs: []]
        walkConfig(statements(module.statementBlock), [], out)
        return out
    }

    /**
     * Walk config statements keeping the scope path (e.g. ['profiles', 'test', 'params']): `name { ... }` blocks
     * nest, `withName: 'X' { ... }` is recorded as a selector, assignments inside `params { }` or to `params.x` are
     * declarations (the checks decide which scopes count), every other `params.x` is a use.
     */
    static void walkConfig(List<Statement> stmts, List<String> scope, Map out) {
        for (Statement stmt : stmts) {
            def expr = stmt instanceof ExpressionStatement ? ((ExpressionStatement) stmt).expression : null
            def call = expr instanceof MethodCallExpression ? (MethodCallExpression) expr : null
            def body = call?.implicitThis ? closureArg(call) : null
            def selector = stmt.statementLabels?.find { it in ['withName', 'withLabel'] }
            if (body && selector) {
                def pattern = call.method instanceof ConstantExpression ? call.methodAsString : null
                out.selectors << [kind: selector, pattern: pattern, text: call.method.text, line: stmt.lineNumber, scope: scope]
                walkConfig(statements(body), scope + ["${selector}:${call.method.text}".toString()], out)
            }
            else if (body && argList(call).size() == 1) {
                walkConfig(statements(body), scope + [call.methodAsString], out)
            }
            else if (expr instanceof BinaryExpression && expr.operation.type == Types.ASSIGN) {
                def path = propertyPath(expr.leftExpression)
                if (path && path[0] == 'params' && path.size() > 1) {
                    out.params_declared << [name: path[1], line: stmt.lineNumber, scope: scope]
                }
                else if (path && path.size() >= 1 && scope && scope[-1] == 'params') {
                    out.params_declared << [name: path[0], line: stmt.lineNumber, scope: scope.subList(0, scope.size() - 1)]
                }
                collectParams(expr.rightExpression, out)
            }
            else {
                if (call?.implicitThis && call.methodAsString == 'includeConfig') {
                    def args = argList(call)
                    out.include_configs << [source: args && args[0] instanceof ConstantExpression ? args[0].value : null,
                                            line: stmt.lineNumber]
                }
                collectParams(stmt, out)
            }
        }
    }

    static void collectParams(node, Map out) {
        def refs = new RefCollector()
        node.visit(refs)
        out.params_used.addAll(refs.params)
    }

    // ---------------------------------------------------------------- nf-test files (.nf.test)

    /** The nf-test declarations the module checks need: script, process/workflow name, tests and their options. */
    static Map summariseNfTest(ModuleNode module) {
        def out = [script: null, process: null, workflow: null, tests: []]
        def visitor = new CodeVisitorSupport() {
            Map current = null
            @Override
            void visitMethodCallExpression(MethodCallExpression call) {
                def args = argList(call)
                def first = args && args[0] instanceof ConstantExpression ? args[0].value : null
                def name = call.methodAsString
                if (call.implicitThis && name == 'test' && first != null) {
                    current = [name: first, options: [], line: call.lineNumber]
                    out.tests << current
                    super.visitMethodCallExpression(call)
                    current = null
                    return
                }
                if (call.implicitThis && first instanceof String) {
                    if (name == 'options' && current) current.options << first
                    else if (name in ['script', 'process', 'workflow'] && !current && out[name] == null) out[name] = first
                }
                super.visitMethodCallExpression(call)
            }
        }
        module.statementBlock.visit(visitor)
        return out
    }

    // ---------------------------------------------------------------- helpers

    static List<Statement> statements(node) {
        def code = node instanceof ClosureExpression ? node.code : node
        return code instanceof BlockStatement ? ((BlockStatement) code).statements : [code]
    }

    static MethodCallExpression asCall(Statement stmt) {
        def expr = stmt instanceof ExpressionStatement ? ((ExpressionStatement) stmt).expression : null
        return expr instanceof MethodCallExpression ? (MethodCallExpression) expr : null
    }

    static List<Expression> argList(MethodCallExpression call) {
        def args = call.arguments
        return args instanceof TupleExpression ? ((TupleExpression) args).expressions : [args]
    }

    static ClosureExpression closureArg(MethodCallExpression call) {
        def args = argList(call)
        return args && args[-1] instanceof ClosureExpression ? (ClosureExpression) args[-1] : null
    }

    /** a.b.c -> ['a', 'b', 'c']; null unless the expression is a chain of plain names. */
    static List<String> propertyPath(Expression expr) {
        if (expr instanceof VariableExpression) return [expr.name]
        if (expr instanceof PropertyExpression && expr.property instanceof ConstantExpression) {
            def head = propertyPath(expr.objectExpression)
            return head == null ? null : head + [expr.propertyAsString]
        }
        return null
    }
}

/**
 * Collects, under one node: calls to bare names (FOO(a, b), with their argument count; `ch | FOO` with none),
 * `X.out.name` references and `params.x` / `params['x']` / `params.get('x')` uses.
 */
class RefCollector extends CodeVisitorSupport {
    List calls = [], outRefs = [], params = []

    @Override
    void visitMethodCallExpression(MethodCallExpression call) {
        if (call.implicitThis && call.method instanceof ConstantExpression) {
            def args = call.arguments
            def nargs = args instanceof TupleExpression ? ((TupleExpression) args).expressions.size() : 1
            calls << [name: call.methodAsString, nargs: nargs, line: call.lineNumber]
        }
        if (isParams(call.objectExpression) && call.methodAsString in ['get', 'getOrDefault', 'containsKey']) {
            def args = NfAst.argList(call)
            if (args && args[0] instanceof ConstantExpression) params << [name: args[0].value, line: call.lineNumber]
        }
        super.visitMethodCallExpression(call)
    }

    @Override
    void visitPropertyExpression(PropertyExpression expr) {
        if (isParams(expr.objectExpression) && expr.property instanceof ConstantExpression) {
            params << [name: expr.propertyAsString, line: expr.lineNumber]
        }
        def owner = expr.objectExpression
        if (owner instanceof PropertyExpression && owner.propertyAsString == 'out' && owner.objectExpression instanceof VariableExpression) {
            outRefs << [target: owner.objectExpression.name, emit: expr.propertyAsString, line: expr.lineNumber]
        }
        super.visitPropertyExpression(expr)
    }

    @Override
    void visitBinaryExpression(BinaryExpression expr) {
        def right = expr.rightExpression
        if (expr.operation.type == Types.PIPE && right instanceof VariableExpression && right.name ==~ /[A-Z][A-Z0-9_]*/) {
            calls << [name: right.name, nargs: null, line: right.lineNumber]
        }
        if (expr.operation.type == Types.LEFT_SQUARE_BRACKET && isParams(expr.leftExpression) && right instanceof ConstantExpression) {
            params << [name: right.value, line: expr.lineNumber]
        }
        super.visitBinaryExpression(expr)
    }

    static boolean isParams(Expression expr) {
        return expr instanceof VariableExpression && expr.name == 'params'
    }
}
