// Package condition implements the Apigee condition language used in the
// <Condition> elements of proxy and shared-flow bundles (Flows, Steps,
// RouteRules, FaultRules).
//
//	c, err := condition.Parse(`(proxy.pathsuffix MatchesPath "/forecast/**") and (request.verb = "GET")`)
//	ok := c.Eval(condition.MapResolver{"proxy.pathsuffix": "/forecast/today", "request.verb": "GET"})
//
// Parse compiles once (including every regular expression and path/glob
// pattern); Eval is then allocation-free for string, number and bool flow
// variables and safe for concurrent use.
//
// # Sources
//
// The grammar and semantics below were derived from two references, with our
// own parser written from scratch:
//
//   - Apigee "Conditions reference" (cloud.google.com/apigee/docs/api-platform/
//     reference/conditions-reference): operator table, "Java precedence is
//     used for operators", the "Behavior of null operands" table, operand type
//     adaptation, literals, path expressions ("*" one element, "**" many,
//     "{name}", "%" escape) and the "Pattern matching with conditionals" page
//     for Matches / JavaRegex / MatchesPath.
//   - apigeelint's PEG grammar (github.com/apigee/apigeelint,
//     lib/peggy/Apigee-Condition.pegjs) and its ConditionParserTest: which
//     spellings are accepted, that operator words and and/or/not are
//     case-insensitive, that spaces around symbol operators are optional,
//     how numbers and identifiers are lexed.
//
// # Grammar
//
//	condition  = [ or ]                          ; empty/blank: always true
//	or         = and { ("or" | "||") and }
//	and        = unary { ("and" | "&&") unary }
//	unary      = ("not" | "!") unary | primary
//	primary    = "(" or ")" | true | false | null | variable [ operator value ]
//	value      = string | number | true | false | null | variable
//	variable   = [A-Za-z_][A-Za-z0-9_.-]*  |  "'" any-but-quote "'"
//	string     = '"' { any-but-quote | '\"' } '"'
//	number     = ["-"] (digits ["." digits] | "." digits) [fFdDlL]
//
// Words (and, or, not, and all operator words) are case-insensitive; the
// literals true, false and null are lower case, as in apigeelint. Whitespace
// (space, tab, CR, LF) is free around all tokens; symbol operators need no
// surrounding spaces (`request.verb="GET"`). A variable name holding an
// operator character can be single-quoted, as the reference documents
// ('request.header.help!me'). The words and, or, not, true, false and null
// cannot name an unquoted variable; String() single-quotes those names and
// any name that is also an operator word.
//
// String literals have exactly one escape, \" for a double quote inside the
// string; every other backslash is kept as is, so regex escapes like "\d+"
// reach the regex compiler unchanged. (Apigee itself, like apigeelint's
// grammar, has no escapes at all; \" is our extension.)
//
// Numbers are decimal; the Java suffixes f/F/d/D (floating) and l/L (long)
// that the reference mentions are accepted. The left side of a comparison
// must be a variable; literals are rejected there, as apigeelint does.
// Standalone true / false / null are constant conditions (null is false) —
// `<Condition>false</Condition>` is a common way to disable a step.
//
// # Operators
//
//	Symbol        Words (any case)          Meaning
//	=  ==         Equals, Is                equal (case-sensitive for strings)
//	!=            NotEquals, IsNot          not equal
//	:=            EqualsCaseInsensitive     equal ignoring case
//	>  &gt;       GreaterThan
//	>= &gt;=      GreaterThanOrEquals
//	<  &lt;       LesserThan
//	<= &lt;=      LesserThanOrEquals
//	~~            JavaRegex                 regex must match the WHOLE value
//	~/            MatchesPath, LikePath     path expression
//	~             Matches, Like             glob, "*" = any characters
//	=|            StartsWith                prefix (case-sensitive)
//	&&            and                       logical and (short-circuit)
//	||            or                        logical or (short-circuit)
//	!             not                       logical negation
//
// The &gt;/&lt; spellings are what the Apigee UI writes; an XML decoder
// normally turns them back into > and <, but conditions that arrive still
// escaped (for example through the management API) are accepted too.
//
// The right side of JavaRegex, Matches and MatchesPath must be a literal (the
// pattern is compiled by Parse; an invalid regex is a *SyntaxError pointing
// at the pattern). Other operators also accept a variable on the right.
//
// # Precedence (highest first) and why
//
//  1. parentheses
//  2. comparison (variable operator value) — operands are never boolean
//     expressions, so a comparison is an atom
//  3. not / !  — applies to the following comparison, parenthesised group,
//     bare variable or another not: `!a = "b"` means not (a = "b")
//  4. and / &&  — left-associative
//  5. or / ||  — left-associative
//
// The Conditions reference states "Java precedence is used for operators",
// i.e. ! binds tighter than &&, which binds tighter than ||. So
// `a and b or c` is (a and b) or c, and `a or b and c` is a or (b and c).
// apigeelint's PEG instead gives and/or one shared level grouped to the right
// (`a and b or c` parses as a and (b or c)); it is a linter that never
// evaluates, so we follow the runtime documentation and note the difference
// here. Where Java would apply ! to the variable alone (`!a == b`), that
// reading is meaningless for flow variables; we follow apigeelint, whose
// factor rule negates the whole comparison. Because and/or are associative and
// evaluation has no side effects, String() flattens chains (a and (b and c)
// prints as a and b and c).
//
// # Null and missing variables
//
// A missing variable, a variable whose value is nil, and the literal null are
// all null. A comparison with a null side follows the reference's "Behavior
// of null operands" table verbatim:
//
//	Operator        LHS null  RHS null  both null
//	=, ==, :=       false     false     true
//	=|              false     false     false
//	!=              true      true      false
//	>               true      false     false
//	>=              false     true      true
//	<               true      false     false
//	<=              true      false     true
//	~, ~~, ~/       false     n/a       false
//
// Hence `x = null` is true exactly when x is missing, `x != null` exactly
// when x is present, a missing x compared to a string is false for = and true
// for !=. Note the surprising documented rows for relational operators: a
// missing variable is "greater than" and "less than" anything.
//
// A bare variable used as a whole condition (`verifyapikey.VK.failed`,
// `!valid`) is true when it exists and is not false: a nil/missing value, the
// bool false, the empty string and the string "false" (any case) are false;
// every other value, including the number 0, is true.
//
// # Comparison typing
//
// The reference says Apigee "adapts operands to a common data type before
// comparing them" using their Java types: String with anything compares as
// String, numbers widen to the larger numeric type, Boolean with a number
// becomes a number. Flow variables in this emulator often arrive as Go
// strings even where Apigee holds an Integer (response.status.code), so we
// adapt by content as well as type:
//
//   - If either side is a number (an unquoted numeric literal, or a Go numeric
//     value from the resolver) and the other side is a number, a decimal
//     numeric string ("404", "-1.5", "2e3") or a bool (1/0), both are
//     compared numerically (exactly as int64 when both are integral).
//     So response.status.code >= 400 works whether the variable is 404 or
//     "404", and response.status.code = "404" works against the int 404.
//   - Else if both sides are bool, they compare as booleans (false < true).
//   - Otherwise both are compared as strings: strings as they are, bools as
//     "true"/"false", numbers in their literal spelling (or Go's shortest
//     decimal form for resolver values). Case-sensitive, byte-wise ordering,
//     except := which compares with Unicode case folding.
//
// Two strings are therefore never compared numerically (request.header.a =
// "1.0" is false when the header is "1"), matching Apigee's String×String
// rule. Where we differ from Apigee: a numeric-looking string compared with a
// number literal is numeric here, string-wise in Apigee (so header "9" > 10
// is false here, true in Apigee). NaN compares unequal to everything.
//
// # Pattern operators
//
// JavaRegex (~~): the pattern must match the whole value, like
// java.util.regex.Matcher.matches(); it is compiled as ^(?:pattern)$ with Go's
// regexp package (RE2 syntax). Differences from Java: no backreferences (\1),
// lookahead/lookbehind ((?=, (?!, (?<=, (?<!), possessive quantifiers (*+,
// ++, ?+), atomic groups ((?>), \Z, \h, \R, or Java-specific classes such as
// \p{javaLowerCase}; such patterns fail at Parse with a *SyntaxError. Go's \s
// and \w are ASCII-only as in Java's default mode; (?i) works in both.
// Matching is linear-time (no catastrophic backtracking).
//
// Matches / Like (~): a glob over the whole value where "*" matches any run
// of characters, including "/" ("/*at" matches "/cat" and "/c/at"); there is
// no single-character wildcard; "\*" is a literal star. Case-sensitive.
//
// MatchesPath / LikePath (~/): the value and pattern are split on "/" and
// compared segment by segment, case-sensitively:
//
//   - "*" (or "{name}", which only documents the segment) matches exactly one
//     segment; inside a segment it matches any characters except "/"
//     ("/v1/*.json", "/file-{id}");
//   - a segment that is exactly "**" matches zero or more whole segments:
//     "/a/**" matches "/a", "/a/", "/a/b/c"; "/**/feed" matches "/feed" and
//     "/x/y/feed"; "/**" matches every path starting with "/" and the empty
//     path suffix; "**" matches everything;
//   - trailing slashes are significant, as in Apigee: "/a" does not match
//     "/a/" (the usual workaround is `~~ "/a/?"` or a second clause), "/a/*"
//     matches "/a/b" but not "/a/b/"; "*" may match an empty segment, so
//     "/a/*" matches "/a/";
//   - "%" escapes the next character when it is one of * { } % /
//     ("%{user%}" matches the literal "{user}"); other "%" (as in "%20") is
//     literal.
//
// Non-string left operands are matched through their string form (the int
// 404 matches ~~ "4\d\d").
//
// StartsWith (=|) is a case-sensitive prefix test on the string forms.
//
// # Not implemented
//
// The "!~" entry that appears only in the reference's null table, arithmetic
// (unsupported by Apigee too), "Comparable"/"Object" Java operand types,
// regex features RE2 lacks (see above).
package condition
