import groovy.json.JsonOutput
import groovy.json.JsonSlurper

/**
 * One JVM per test session: reads one JSON request per line on stdin and answers one JSON line on stdout.
 *   {"op": "parse", "files": [paths]}   -> {"files": [NfAst.summarise(file) ...]}
 *   {"op": "render", ...}               -> NfRender.render(request)
 * Any failure answers {"error": message, "type": exception class} and the loop goes on.
 * With arguments instead (debugging): NfServer FILE... prints the parse summaries.
 */
class NfServer {
    static void main(String[] args) {
        if (args) {
            println JsonOutput.prettyPrint(JsonOutput.toJson(args.collect { NfAst.summarise(new File(it)) }))
            return
        }
        def out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, 'UTF-8')
        System.out = System.err  // whatever a rendered script prints must not corrupt the protocol
        def reader = new BufferedReader(new InputStreamReader(System.in, 'UTF-8'))
        String line
        while ((line = reader.readLine()) != null) {
            if (!line.trim()) continue
            out.println(JsonOutput.toJson(answer(line)))
            out.flush()
        }
    }

    static Map answer(String line) {
        try {
            Map request = (Map) new JsonSlurper().parseText(line)
            if (request.op == 'parse') return [files: request.files.collect { NfAst.summarise(new File((String) it)) }]
            if (request.op == 'render') return NfRender.render(request)
            return [error: "unknown op ${request.op}".toString(), type: 'RequestError']
        }
        catch (RenderError e) {
            return [error: e.message, type: 'RenderError']
        }
        catch (Throwable e) {
            return [error: e.toString(), type: e.getClass().name]
        }
    }
}
