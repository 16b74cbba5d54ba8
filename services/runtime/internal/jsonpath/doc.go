// Package jsonpath evaluates JSONPath in Apigee's dialect: Jayway JsonPath
// (com.jayway.jsonpath:json-path), the library Apigee's runtime evaluates
// ExtractVariables' <JSONPath>, RegularExpressionProtection's
// <JSONPayload> expressions and the jsonPath() message template function
// with. It has one job: compile a Jayway expression (a refused expression
// is a deploy error), evaluate it on a decoded document, and say whether
// the path is definite.
//
// The oracle is Jayway 2.4.0 with its default configuration (the
// json-smart provider, no options). Apigee X and hybrid run an older 2.x
// line (they refuse "$.", which Apigee Edge's 0.8 accepted); 2.4.0 was the
// current 2.x release from 2017 until the end of 2020, when those runtimes
// were built, and it is the last before 2.5.0 added keys() and changed
// how several functions apply. tools/jayway-oracle runs it; JAYWAY_VERSION
// tries another.
//
// # Why a port rather than ohler55/ojg
//
// The package replaces ojg's jp, which the engine used before. ojg is a
// good JSONPath, but not Jayway's, and the differences are the ones that
// show in proxies: Jayway applies a filter on an object to the object
// itself ($.store.bicycle[?(@.color)]); its deep scan visits parents before
// children in document order; ['a','b'] on the last step merges into one
// object; '1' == 1 holds but 1 === '1' does not; a missing property ends
// an indefinite branch silently but fails a definite path; "$.[0]" and
// "store.book" compile, "$.", "$['a,b']" and "$.a b" do not; functions
// (length(), size(), sum(), avg(), min(), max(), stddev(), concat(),
// append()) apply where they stand in the path. A translation layer over
// ojg would have had to reimplement most of evaluation anyway, so this is
// a direct port of Jayway's compiler and evaluator (PathCompiler,
// FilterCompiler, the path tokens, ValueNode and the evaluators), written
// to keep their structure, quirks included, so each can be checked against
// the original. The golden table (testdata/jayway_golden.json, produced by
// Jayway itself through `make oracle`) holds the port to it.
//
// # Results
//
// Eval returns what JsonPath.read does: for a definite path (only
// properties, single indexes and functions) the value found, or an error
// wrapping ErrNotFound when there is none; for an indefinite path
// (wildcards, deep scan, slices, filters, index or property lists) a []any
// of every value found, possibly empty — a filter that matches one element
// still gives a one-element list. Decode builds the document the way
// Jayway's json-smart provider does (objects in document order; numbers as
// Integer/Long, Double, BigInteger or BigDecimal), and String prints a
// result the way it ends up in an Apigee flow variable: a string as it is,
// anything else as json-smart writes it (["a","b"], 8.95, 1.0, 1.0E-7,
// true, null, "\/" for "/").
//
// # Known deviations from Jayway
//
//   - Regular expressions (=~ /.../) are Go's RE2, not java.util.regex: a
//     pattern with look-around or back references is a compile error here,
//     and /.../i folds case by Unicode rules where Java folds ASCII only.
//   - Digits are ASCII: Java's Character.isDigit also takes other scripts'
//     digits in indexes ("$[١]").
//   - Documents are strict JSON (RFC 8259); json-smart's permissive mode,
//     which Jayway parses payloads with, also takes single quotes, bare
//     words and trailing text. (Literals inside a path — [..] and {..} in
//     filters, function arguments — do go through a port of that
//     permissive parser.)
//   - append() returns a new array; Jayway appends to the document's own,
//     which only a second path over the same parsed document could see.
//   - An evaluation stops with an error after 4M steps (stacked deep
//     scans over a large payload); Jayway has no limit.
//   - Numbers print with Java 19+'s Double.toString (the shortest digits);
//     older JDKs print a digit more for a few values.
//   - A path that sends Jayway's compiler round in a loop ("$['a',") ends
//     in a StackOverflowError there and a compile error here.
package jsonpath
