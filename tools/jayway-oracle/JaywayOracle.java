// The Jayway JsonPath oracle: runs every case of the JSONPath golden table
// through com.jayway.jsonpath:json-path, the library Apigee evaluates
// JSONPath with, and prints one JSON object per case on standard output.
// services/runtime/internal/jsonpath/oracle_test.go (build tag `oracle`)
// reads them and compares them with testdata/jayway_golden.json, or
// writes that file from them with -update. Run it through `make oracle`
// (scripts/oracle-jayway.sh resolves the class path from Maven Central).
//
//	java -cp CLASSPATH JaywayOracle.java DOCS_DIR CASES_FILE
//
// DOCS_DIR holds the documents (NAME.json); CASES_FILE has one case a
// line, "DOC<TAB>EXPRESSION" (blank lines and lines starting with # are
// skipped). Each output line is, in the order of the cases:
//
//	{"doc":..,"path":..,"definite":true|false,"value":JSON}   or
//	{"doc":..,"path":..,["definite":..,]"error":KIND}
//
// where value is the result as json-smart writes it (JSONValue.toJSONString,
// what Apigee prints for a non-string result) and KIND is one of
//
//	invalid   JsonPath.compile threw (InvalidPathException): a deploy error
//	notfound  read threw PathNotFoundException (a definite path that
//	          matched nothing)
//	eval      read threw another InvalidPathException (an unknown function,
//	          a filter applied to a primitive)
//	error     read threw anything else (an aggregation over nothing, ...)
//
// The document is parsed afresh for every case: some functions (append)
// change the document they run on.
import com.jayway.jsonpath.Configuration;
import com.jayway.jsonpath.InvalidPathException;
import com.jayway.jsonpath.JsonPath;
import com.jayway.jsonpath.PathNotFoundException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.minidev.json.JSONValue;

public class JaywayOracle {
    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: JaywayOracle DOCS_DIR CASES_FILE");
            System.exit(2);
        }
        Path docs = Paths.get(args[0]);
        List<String> lines = Files.readAllLines(Paths.get(args[1]), StandardCharsets.UTF_8);
        Map<String, String> texts = new LinkedHashMap<>();
        StringBuilder out = new StringBuilder();
        for (String line : lines) {
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int tab = line.indexOf('\t');
            if (tab < 0) {
                throw new IllegalArgumentException("case line without a tab: " + line);
            }
            String doc = line.substring(0, tab);
            String path = line.substring(tab + 1);
            String text = texts.get(doc);
            if (text == null) {
                text = new String(Files.readAllBytes(docs.resolve(doc + ".json")), StandardCharsets.UTF_8);
                texts.put(doc, text);
            }
            Map<String, Object> res = new LinkedHashMap<>();
            res.put("doc", doc);
            res.put("path", path);
            run(res, text, path);
            out.append(JSONValue.toJSONString(res)).append('\n');
        }
        System.out.print(out);
        System.out.flush();
    }

    private static void run(Map<String, Object> res, String text, String path) {
        JsonPath p;
        try {
            p = JsonPath.compile(path);
        } catch (InvalidPathException | IllegalArgumentException | StackOverflowError e) {
            // IllegalArgumentException: the empty path, refused before
            // parsing. StackOverflowError: a property list without its "]"
            // ("$['a',") sends the compiler back to the start of the path
            // for ever; it fails the deployment all the same.
            res.put("error", "invalid");
            return;
        }
        res.put("definite", p.isDefinite());
        Object doc = Configuration.defaultConfiguration().jsonProvider().parse(text);
        try {
            Object v = p.read(doc);
            res.put("value", JSONValue.toJSONString(v));
        } catch (PathNotFoundException e) {
            res.put("error", "notfound");
        } catch (InvalidPathException e) {
            res.put("error", "eval");
        } catch (RuntimeException | StackOverflowError e) {
            res.put("error", "error");
        }
    }
}
