package engine

import (
	"net/http"
	"strconv"
)

// Apigee's request limits and the faults it answers when a client exceeds
// them (docs.apigee.com/api-platform/troubleshoot/runtime/414-toobigline
// and 431-toobigheaders: the message processor's HTTPRequest.line.limit
// is 7 KB and HTTPRequest.headers.limit 25 KB).
const (
	DefaultMaxRequestLine    = 7 << 10
	DefaultMaxRequestHeaders = 25 << 10
	// DefaultMaxHeaderCount bounds the number of header fields. Apigee
	// documents no count, only the total size; 100 is the common
	// server default (Kestrel, Envoy) and far above what clients send.
	DefaultMaxHeaderCount = 100

	CodeTooBigLine    = "protocol.http.TooBigLine"
	CodeTooBigHeaders = "protocol.http.TooBigHeaders"
)

// limit returns v, the default when v is 0, or no limit when v < 0.
func limit(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// checkLimits refuses a request whose request line or headers exceed
// Apigee's limits, with Apigee's faults, before anything is forwarded.
func (e *Engine) checkLimits(r *http.Request) *Fault {
	if max := limit(e.opts.MaxRequestLine, DefaultMaxRequestLine); max > 0 {
		// <Method> SP <Request-URI> SP <HTTP-Version>
		if n := len(r.Method) + 1 + len(r.RequestURI) + 1 + len(r.Proto); n > max {
			return &Fault{Status: http.StatusRequestURITooLong, Code: CodeTooBigLine, Message: "request line size exceeding " + thousands(max)}
		}
	}
	maxSize, maxCount := limit(e.opts.MaxRequestHeaders, DefaultMaxRequestHeaders), limit(e.opts.MaxHeaderCount, DefaultMaxHeaderCount)
	if maxSize < 0 && maxCount < 0 {
		return nil
	}
	// Host is a header on the wire; net/http moves it to r.Host.
	size, count := 0, 0
	if r.Host != "" {
		size, count = len("Host: \r\n")+len(r.Host), 1
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			size += len(k) + len(": \r\n") + len(v)
			count++
		}
	}
	if maxSize > 0 && size > maxSize {
		return &Fault{Status: http.StatusRequestHeaderFieldsTooLarge, Code: CodeTooBigHeaders, Message: "request headers size exceeding " + thousands(maxSize)}
	}
	if maxCount > 0 && count > maxCount {
		return &Fault{Status: http.StatusRequestHeaderFieldsTooLarge, Code: CodeTooBigHeaders, Message: "request headers count exceeding " + thousands(maxCount)}
	}
	return nil
}

// thousands formats n as Apigee's fault strings do: 7,168.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
