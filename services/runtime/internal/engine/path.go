package engine

import (
	"net/http"
	"net/url"
	"strings"
)

// CodeInvalidPath is the fault of a request path the runtime refuses
// (Apigee's message processor answers 400 protocol.http.InvalidPath for
// paths it cannot route, before any policy runs).
const CodeInvalidPath = "protocol.http.InvalidPath"

// CodeBadPath is the fault of a target URL whose path is not acceptable
// (Apigee: 500 protocol.http.BadPath, "Invalid request path").
const CodeBadPath = "protocol.http.BadPath"

// reqPath is a request path in the two forms the runtime uses.
//
//   - wire: the escaped path as the client sent it, with dot segments
//     removed (RFC 3986 §5.2.4); every other byte, encoded slashes
//     included, is kept as sent. Target URLs are built from it.
//   - vars: wire with every percent-encoding decoded except encoded
//     slashes ("%2F"), so a/b and a%2Fb stay different. Routing,
//     proxy.pathsuffix and request.path use it.
//
// Both have the same segments, so the base path cuts both at the same
// place.
type reqPath struct {
	wire, vars string
}

// canonicalPath turns the escaped request path into its canonical forms.
// A dot segment is "." or "..", literally or percent-encoded (%2E is an
// unreserved character, RFC 3986 §2.3, so %2e%2e *is* ".."); dot segments
// are resolved before routing, so no proxy, condition or target ever sees
// one. It refuses (400 protocol.http.InvalidPath):
//   - a ".." that would climb above the root;
//   - a segment that hides a dot segment behind an encoded slash or
//     backslash ("..%2F", "%2e%2e%5c"): kept encoded it is harmless, but a
//     backend that decodes before normalising would climb.
func canonicalPath(escaped string) (reqPath, string) {
	if escaped == "" {
		escaped = "/"
	}
	// Fast path: nothing encoded and no dot segment.
	if strings.IndexByte(escaped, '%') < 0 && !hasDotSegment(escaped) {
		return reqPath{wire: escaped, vars: escaped}, ""
	}
	segs := strings.Split(escaped, "/")
	out := make([]string, 0, len(segs))
	vars := make([]string, 0, len(segs))
	trailing := false
	for i, s := range segs {
		if i == 0 {
			out, vars = append(out, s), append(vars, s) // before the leading slash: ""
			continue
		}
		last := i == len(segs)-1
		dec, err := url.PathUnescape(s)
		if err != nil {
			return reqPath{}, "malformed percent-encoding"
		}
		switch {
		case dec == ".":
			trailing = last
			continue
		case dec == "..":
			if len(out) <= 1 {
				return reqPath{}, "dot segment above the root"
			}
			out, vars = out[:len(out)-1], vars[:len(vars)-1]
			trailing = last
			continue
		case strings.ContainsAny(dec, `/\`):
			for _, part := range strings.FieldsFunc(dec, func(r rune) bool { return r == '/' || r == '\\' }) {
				if part == "." || part == ".." {
					return reqPath{}, "dot segment behind an encoded slash"
				}
			}
		}
		out, vars = append(out, s), append(vars, varsSegment(s, dec))
	}
	if trailing {
		out, vars = append(out, ""), append(vars, "")
	}
	p := reqPath{wire: strings.Join(out, "/"), vars: strings.Join(vars, "/")}
	if p.wire == "" {
		p.wire, p.vars = "/", "/"
	}
	return p, ""
}

// hasDotSegment reports whether an unescaped path has a "." or ".."
// segment.
func hasDotSegment(p string) bool {
	for i := 0; i < len(p); i++ {
		if p[i] != '.' || (i > 0 && p[i-1] != '/') {
			continue
		}
		j := i + 1
		if j < len(p) && p[j] == '.' {
			j++
		}
		if j == len(p) || p[j] == '/' {
			return true
		}
	}
	return false
}

// varsSegment is a segment decoded except for encoded slashes.
func varsSegment(raw, dec string) string {
	if !strings.Contains(dec, "/") {
		return dec
	}
	parts := strings.Split(raw, "%2")
	var b strings.Builder
	b.WriteString(unescapeOr(parts[0]))
	for _, p := range parts[1:] {
		if len(p) > 0 && (p[0] == 'F' || p[0] == 'f') {
			b.WriteString("%2F")
			b.WriteString(unescapeOr(p[1:]))
			continue
		}
		b.WriteString(unescapeOr("%2" + p))
	}
	return b.String()
}

func unescapeOr(s string) string {
	if d, err := url.PathUnescape(s); err == nil {
		return d
	}
	return s
}

// suffixOf cuts the base path off a path in either form: the base path
// has n segments, the suffix is what follows them ("" or "/...").
func suffixOf(p, basePath string) string {
	if basePath == "/" {
		return p
	}
	n := strings.Count(basePath, "/")
	i := 0
	for ; n > 0 && i < len(p); i++ {
		if p[i] == '/' {
			n--
		}
	}
	if n > 0 {
		return ""
	}
	// i is just past the n-th slash: back up to the one that starts the suffix.
	j := strings.IndexByte(p[i:], '/')
	if j < 0 {
		return ""
	}
	return p[i+j:]
}

// invalidPath is the fault of a refused request path.
func invalidPath(r *http.Request, reason string) *Fault {
	return &Fault{Status: http.StatusBadRequest, Code: CodeInvalidPath,
		Message: "Invalid path " + r.Method + " " + r.URL.EscapedPath() + " " + r.Proto + ": " + reason}
}

// targetPath joins a target URL's path and an escaped path suffix into
// the outgoing URL's Path and RawPath.
func targetPath(target *url.URL, wireSuffix string) (path, raw string) {
	raw = joinTargetPath(target.EscapedPath(), wireSuffix)
	path = raw
	if strings.IndexByte(raw, '%') >= 0 {
		if d, err := url.PathUnescape(raw); err == nil {
			path = d
		}
	}
	if path == raw {
		raw = ""
	}
	return path, raw
}

// checkTargetPath refuses a target URL (built by the runtime or set by a
// policy in target.url) whose path still holds a dot segment: forwarded,
// it would reach outside the target's base path.
func checkTargetPath(u *url.URL) *Fault {
	p := u.EscapedPath()
	if strings.IndexByte(p, '%') < 0 && !hasDotSegment(p) {
		return nil
	}
	if c, reason := canonicalPath(p); reason != "" || c.wire != p {
		return &Fault{Status: http.StatusInternalServerError, Code: CodeBadPath, Message: "Invalid request path: target path " + p + " has a dot segment"}
	}
	return nil
}
