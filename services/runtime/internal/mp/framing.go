package mp

import (
	"bytes"
	"net"
	"net/http"
	"strconv"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/engine"
)

// The traffic listener's strict HTTP/1.1 framing guard.
//
// Go's net/http server accepts framings that a stricter front end may
// read differently (Content-Length together with Transfer-Encoding, two
// equal Content-Lengths, obs-fold continuation lines, bare-LF line
// endings, and lenient chunk trailers), so a client could smuggle a
// request past such a front end. Every traffic connection is therefore
// read through a framingConn, which checks each request head before
// net/http sees a byte of it and then follows the body's framing
// (Content-Length, or chunk sizes, extensions and trailers) to find where
// the next request starts. Body bytes stream through as they arrive;
// only the head (bounded by TrafficMaxHeaderBytes) is held.
//
// A refused head is never given to net/http. In its place the conn hands
// net/http a synthetic request (method refusedMethod, the reason as its
// path, Connection: close) and discards everything after it; the
// handler from guardTraffic answers it with Apigee's fault. Going
// through net/http keeps pipelined responses in order: the refusal is
// written after the responses to the requests before it. A client cannot
// forge the synthetic request: a head with that method is itself refused.
//
// A framing error inside a body (a malformed chunk) cannot be answered
// that way, as the request is already being served: the conn fails the
// read, and every later read, so the handler sees a broken payload and
// net/http can read no further request from the connection.

// refusedMethod marks the synthetic request standing for a refused head.
const refusedMethod = "X-HYBRID-REFUSED"

// Framing refusals. The index is the synthetic request's path.
type refusal uint8

const (
	refuseBadFraming refusal = iota
	refuseBareLF
	refuseObsFold
	refuseDuplicateCL
	refuseCLAndTE
	refuseBadCL
	refuseUnsupportedTE
	refuseTEInHTTP10
	refuseBadRequestLine
	refuseBadHeader
	refuseTooBigLine
	refuseTooBigHeaders
	refuseVersion
	numRefusals
)

// CodeBadFraming is the error code for a request whose framing the
// traffic listener refuses. Apigee's runtime error catalog documents no
// code for these; duplicate Content-Length uses Apigee's documented
// protocol.http.DuplicateHeader, oversized heads TooBigLine and
// TooBigHeaders.
const (
	CodeBadFraming      = "protocol.http.BadFraming"
	CodeDuplicateHeader = "protocol.http.DuplicateHeader"
)

var refusalFaults = [numRefusals]engine.Fault{
	refuseBadFraming:     {Status: http.StatusBadRequest, Code: CodeBadFraming, Message: "Bad request framing"},
	refuseBareLF:         {Status: http.StatusBadRequest, Code: CodeBadFraming, Message: "Line not terminated by CRLF"},
	refuseObsFold:        {Status: http.StatusBadRequest, Code: CodeBadFraming, Message: "Obsolete line folding in header"},
	refuseDuplicateCL:    {Status: http.StatusBadRequest, Code: CodeDuplicateHeader, Message: `Duplicate Header "Content-Length"`},
	refuseCLAndTE:        {Status: http.StatusBadRequest, Code: CodeBadFraming, Message: "Both Content-Length and Transfer-Encoding"},
	refuseBadCL:          {Status: http.StatusBadRequest, Code: CodeBadFraming, Message: "Invalid Content-Length"},
	refuseUnsupportedTE:  {Status: http.StatusNotImplemented, Code: CodeBadFraming, Message: "Unsupported Transfer-Encoding"},
	refuseTEInHTTP10:     {Status: http.StatusBadRequest, Code: CodeBadFraming, Message: "Transfer-Encoding in an HTTP/1.0 request"},
	refuseBadRequestLine: {Status: http.StatusBadRequest, Code: CodeBadFraming, Message: "Malformed request line"},
	refuseBadHeader:      {Status: http.StatusBadRequest, Code: CodeBadFraming, Message: "Malformed header"},
	refuseTooBigLine:     {Status: http.StatusRequestURITooLong, Code: engine.CodeTooBigLine, Message: "request line size exceeding " + thousands(engine.DefaultMaxRequestLine)},
	refuseTooBigHeaders:  {Status: http.StatusRequestHeaderFieldsTooLarge, Code: engine.CodeTooBigHeaders, Message: "request headers size exceeding " + thousands(engine.DefaultMaxRequestHeaders)},
	refuseVersion:        {Status: http.StatusHTTPVersionNotSupported, Code: CodeBadFraming, Message: "HTTP version not supported"},
}

// synthetic heads, one per refusal, built once.
var refusalHeads = func() (h [numRefusals][]byte) {
	for i := range h {
		h[i] = []byte(refusedMethod + " /" + strconv.Itoa(i) + " HTTP/1.1\r\nHost: refused\r\nConnection: close\r\n\r\n")
	}
	return h
}()

// Bounds. The head cap is the traffic server's MaxHeaderBytes, so every
// head net/http would take is seen whole, and the engine still answers
// heads over Apigee's limits but under the cap with its own faults. The
// chunk bounds are stricter than net/http's (4 KB chunk lines, 16 KB of
// chunk overhead, trailers within its 4 KB read buffer), so a chunked
// body the guard accepts is one net/http reads the same way.
const (
	maxHead          = TrafficMaxHeaderBytes
	maxLeadingCRLF   = 8
	maxChunkLine     = 1024
	maxChunkOverhead = 8 << 10
	maxTrailer       = 2 << 10
	maxChunkDigits   = 15
)

type framingState uint8

const (
	stHead framingState = iota
	stBody
	stChunkSize
	stChunkExt
	stChunkSizeLF
	stChunkData
	stChunkDataCR
	stChunkDataLF
	stTrailerStart
	stTrailerName
	stTrailerValue
	stTrailerLF
	stTrailerEndLF
	stDrain // refused: discard the rest
)

// framingListener wraps the traffic listener's connections in framingConns.
type framingListener struct{ net.Listener }

func (l framingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &framingConn{Conn: c}, nil
}

// framingConn checks the framing of the requests read through it.
type framingConn struct {
	net.Conn
	st     framingState
	ready  []byte // checked bytes for the reader (a head, or a synthetic one)
	rest   []byte // bytes read from the network and not yet checked
	buf    []byte // network reads in head state
	netErr error  // a network error behind rest, returned once
	ferr   error  // a body framing error: every later read fails with it

	// the head being read
	head      []byte
	lineStart int
	leading   int // empty lines before the request line
	sawLine   bool
	http10    bool
	clCount   int
	clValue   []byte
	teCount   int
	teChunked bool

	heads int // heads passed on (tests check net/http reads the same ones)

	// the body
	remaining int64 // Content-Length or chunk bytes left
	chunkLen  int   // bytes of the current chunk line or trailer section
	digits    int
	size      uint64
	overhead  int64
}

// framingError fails the read of a body whose chunked framing is broken.
type framingError string

func (e framingError) Error() string { return "traffic: " + string(e) }

func (c *framingConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if len(c.ready) > 0 {
			n := copy(p, c.ready)
			c.ready = c.ready[n:]
			if len(c.ready) == 0 && c.st != stDrain {
				if cap(c.head) > 16<<10 {
					c.head = nil // a big head does not pin its memory
				} else {
					c.head = c.head[:0]
				}
			}
			return n, nil
		}
		if c.st == stDrain {
			return c.drain()
		}
		if len(c.rest) == 0 {
			if c.ferr != nil {
				return 0, c.ferr
			}
			if err := c.netErr; err != nil {
				c.netErr = nil // deadlines are errors net/http reads past
				return 0, err
			}
			if c.st != stHead {
				// Body: read straight into p and check it in place.
				n, err := c.Conn.Read(p)
				if n == 0 {
					return 0, err
				}
				k, ferr := c.advance(p[:n])
				if ferr != nil {
					c.ferr = ferr
					if k == 0 {
						return 0, ferr
					}
					return k, nil
				}
				if k < n {
					// The body ended: the next head starts here.
					c.rest = append(c.buffer()[:0], p[k:n]...)
					c.netErr = err
					return k, nil
				}
				return n, err
			}
			n, err := c.Conn.Read(c.buffer())
			if n == 0 {
				return 0, err
			}
			c.rest, c.netErr = c.buf[:n], err
		}
		if c.st == stHead {
			used, done, r, refused := c.addHead(c.rest)
			c.rest = c.rest[used:]
			if refused {
				c.refuse(r)
			} else if done {
				c.ready = c.head
				c.heads++
			}
			continue
		}
		b := c.rest[:min(len(c.rest), len(p))]
		k, ferr := c.advance(b)
		n := copy(p, b[:k])
		c.rest = c.rest[k:]
		if ferr != nil {
			c.ferr, c.rest = ferr, nil
			if n == 0 {
				return 0, ferr
			}
		}
		return n, nil
	}
}

func (c *framingConn) buffer() []byte {
	if c.buf == nil {
		c.buf = make([]byte, 4<<10)
	}
	return c.buf
}

// drain discards what the client sends after a refusal, so net/http
// answers the synthetic request and closes without reading any of it;
// network errors (and deadlines) pass through.
func (c *framingConn) drain() (int, error) {
	c.rest = nil
	for {
		if _, err := c.Conn.Read(c.buffer()); err != nil {
			return 0, err
		}
	}
}

func (c *framingConn) refuse(r refusal) {
	c.ready, c.rest, c.head = refusalHeads[r], nil, nil
	c.st = stDrain
}

// addHead adds bytes to the request head. It returns how many it used,
// and whether the head is complete or refused.
func (c *framingConn) addHead(b []byte) (used int, done bool, r refusal, refused bool) {
	for used < len(b) {
		i := bytes.IndexByte(b[used:], '\n')
		if i < 0 {
			c.head = append(c.head, b[used:]...)
			used = len(b)
			if len(c.head) > maxHead {
				return used, false, c.tooBig(), true
			}
			return used, false, 0, false
		}
		c.head = append(c.head, b[used:used+i+1]...)
		used += i + 1
		if len(c.head) > maxHead {
			return used, false, c.tooBig(), true
		}
		line := c.head[c.lineStart:]
		if len(line) < 2 || line[len(line)-2] != '\r' {
			return used, false, refuseBareLF, true
		}
		line = line[:len(line)-2]
		if bytes.IndexByte(line, '\r') >= 0 {
			return used, false, refuseBareLF, true
		}
		switch {
		case len(line) == 0 && !c.sawLine:
			// RFC 9112 §2.2: empty lines before the request line are
			// ignored (net/http skips a few after a POST); they are not
			// passed on.
			if c.leading++; c.leading > maxLeadingCRLF {
				return used, false, refuseBadRequestLine, true
			}
			c.head, c.lineStart = c.head[:0], 0
			continue
		case len(line) == 0:
			r, refused = c.framing()
			return used, !refused, r, refused
		case !c.sawLine:
			if r, ok := c.requestLine(line); !ok {
				return used, false, r, true
			}
			c.sawLine = true
		default:
			if r, ok := c.fieldLine(line); !ok {
				return used, false, r, true
			}
		}
		c.lineStart = len(c.head)
	}
	return used, false, 0, false
}

func (c *framingConn) tooBig() refusal {
	if !c.sawLine {
		return refuseTooBigLine
	}
	return refuseTooBigHeaders
}

// requestLine checks method SP request-target SP HTTP-version.
func (c *framingConn) requestLine(line []byte) (refusal, bool) {
	c.http10 = false
	c.clCount, c.teCount, c.teChunked, c.clValue = 0, 0, false, nil
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return refuseBadRequestLine, false
	}
	method, rest := line[:sp1], line[sp1+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 <= 0 {
		return refuseBadRequestLine, false
	}
	target, version := rest[:sp2], rest[sp2+1:]
	if !isToken(method) || string(method) == refusedMethod {
		return refuseBadRequestLine, false
	}
	for _, ch := range target {
		if ch <= ' ' || ch == 0x7f {
			return refuseBadRequestLine, false
		}
	}
	switch {
	case string(version) == "HTTP/1.1":
	case string(version) == "HTTP/1.0":
		c.http10 = true
	case len(version) == 8 && string(version[:7]) == "HTTP/1." && isDigit(version[7]):
		// HTTP/1.x: net/http serves it as HTTP/1.1.
	case len(version) == 8 && string(version[:5]) == "HTTP/" && isDigit(version[5]) && version[6] == '.' && isDigit(version[7]):
		// Not HTTP/1. net/http would hand "PRI * HTTP/2.0" (HTTP/2
		// prior knowledge) to the handler as a request; this port serves
		// HTTP/1.x only.
		return refuseVersion, false
	default:
		return refuseBadRequestLine, false
	}
	return 0, true
}

// fieldLine checks a header field line and notes the framing headers.
func (c *framingConn) fieldLine(line []byte) (refusal, bool) {
	if line[0] == ' ' || line[0] == '\t' {
		return refuseObsFold, false
	}
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || !isToken(line[:colon]) {
		return refuseBadHeader, false
	}
	name, value := line[:colon], trimOWS(line[colon+1:])
	for _, ch := range value {
		if (ch < ' ' && ch != '\t') || ch == 0x7f {
			return refuseBadHeader, false
		}
	}
	switch {
	case asciiEqualFold(name, "content-length"):
		c.clCount++
		c.clValue = value
	case asciiEqualFold(name, "transfer-encoding"):
		c.teCount++
		c.teChunked = asciiEqualFold(value, "chunked")
	}
	return 0, true
}

// framing decides how the body of a complete, well-formed head is framed
// (RFC 9112 §6.1, §6.3), refusing every ambiguous case.
func (c *framingConn) framing() (refusal, bool) {
	c.sawLine, c.lineStart, c.leading = false, 0, 0
	te, cl := c.teCount > 0, c.clCount > 0
	switch {
	case te && c.http10:
		return refuseTEInHTTP10, true
	case te && (c.teCount > 1 || !c.teChunked):
		return refuseUnsupportedTE, true
	case c.clCount > 1:
		return refuseDuplicateCL, true
	case te && cl:
		return refuseCLAndTE, true
	case te:
		c.st, c.digits, c.size, c.chunkLen, c.overhead = stChunkSize, 0, 0, 0, 0
	case cl:
		if len(c.clValue) == 0 || len(c.clValue) > 18 {
			return refuseBadCL, true
		}
		var n int64
		for _, ch := range c.clValue {
			if !isDigit(ch) {
				return refuseBadCL, true
			}
			n = n*10 + int64(ch-'0')
		}
		if n > 0 {
			c.st, c.remaining = stBody, n
		}
	}
	return 0, false
}

// advance follows the body's framing over b. It returns how many bytes of
// b belong to the body (all of them unless the body ends inside b) and an
// error if the framing breaks; then the bytes before the offending one
// are returned as the body's.
func (c *framingConn) advance(b []byte) (int, error) {
	i := 0
	for i < len(b) {
		switch c.st {
		case stHead:
			return i, nil
		case stBody:
			n := int64(len(b) - i)
			if n >= c.remaining {
				i += int(c.remaining)
				c.remaining, c.st = 0, stHead
				return i, nil
			}
			c.remaining -= n
			return len(b), nil
		case stChunkData:
			n := int64(len(b) - i)
			if n >= c.remaining {
				i += int(c.remaining)
				c.remaining, c.st = 0, stChunkDataCR
				continue
			}
			c.remaining -= n
			return len(b), nil
		}
		ch := b[i]
		switch c.st {
		case stChunkSize:
			c.chunkLen++
			switch {
			case isHex(ch):
				if c.digits++; c.digits > maxChunkDigits {
					return i, framingError("chunk size too large")
				}
				c.size = c.size<<4 | uint64(unhex(ch))
			case ch == ';' && c.digits > 0:
				c.st = stChunkExt
			case ch == '\r' && c.digits > 0:
				c.st = stChunkSizeLF
			default:
				return i, framingError("malformed chunk size")
			}
		case stChunkExt:
			c.chunkLen++
			if c.chunkLen > maxChunkLine {
				return i, framingError("chunk line too long")
			}
			if ch == '\r' {
				c.st = stChunkSizeLF
			} else if (ch < ' ' && ch != '\t') || ch == 0x7f {
				return i, framingError("malformed chunk extension")
			}
		case stChunkSizeLF:
			if ch != '\n' {
				return i, framingError("chunk line not terminated by CRLF")
			}
			// net/http's accounting of chunk overhead, with a lower bound.
			c.overhead += int64(c.chunkLen) + 2 - 16 - 2*int64(min(c.size, 1<<40))
			c.overhead = max(c.overhead, 0)
			if c.overhead > maxChunkOverhead {
				return i, framingError("too much chunk overhead")
			}
			c.chunkLen = 0
			if c.size == 0 {
				c.st = stTrailerStart
			} else {
				c.st, c.remaining = stChunkData, int64(c.size)
			}
			c.digits, c.size = 0, 0
		case stChunkDataCR:
			if ch != '\r' {
				return i, framingError("chunk data not terminated by CRLF")
			}
			c.st = stChunkDataLF
		case stChunkDataLF:
			if ch != '\n' {
				return i, framingError("chunk data not terminated by CRLF")
			}
			c.st = stChunkSize
		case stTrailerStart, stTrailerName, stTrailerValue, stTrailerLF, stTrailerEndLF:
			if c.chunkLen++; c.chunkLen > maxTrailer {
				return i, framingError("trailer too long")
			}
			switch c.st {
			case stTrailerStart:
				switch {
				case ch == '\r':
					c.st = stTrailerEndLF
				case isTchar(ch):
					c.st = stTrailerName
				default: // obs-fold, or not a field name
					return i, framingError("malformed trailer")
				}
			case stTrailerName:
				if ch == ':' {
					c.st = stTrailerValue
				} else if !isTchar(ch) {
					return i, framingError("malformed trailer")
				}
			case stTrailerValue:
				if ch == '\r' {
					c.st = stTrailerLF
				} else if (ch < ' ' && ch != '\t') || ch == 0x7f {
					return i, framingError("malformed trailer")
				}
			case stTrailerLF:
				if ch != '\n' {
					return i, framingError("trailer line not terminated by CRLF")
				}
				c.st = stTrailerStart
			case stTrailerEndLF:
				if ch != '\n' {
					return i, framingError("trailer line not terminated by CRLF")
				}
				c.st, c.chunkLen = stHead, 0
				return i + 1, nil
			}
		}
		i++
	}
	return i, nil
}

// guardTraffic wraps the traffic listener in the framing guard and h in
// the handler that answers its refusals; the two only work together.
func guardTraffic(ln net.Listener, h http.Handler) (net.Listener, http.Handler) {
	return framingListener{ln}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == refusedMethod {
			i, err := strconv.Atoi(r.URL.Path[1:])
			if err != nil || i < 0 || i >= int(numRefusals) {
				i = int(refuseBadFraming)
			}
			f := refusalFaults[i]
			w.Header().Set("Connection", "close")
			f.Write(w)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }
func isHex(b byte) bool   { return isDigit(b) || ('a' <= b && b <= 'f') || ('A' <= b && b <= 'F') }

func unhex(b byte) byte {
	switch {
	case isDigit(b):
		return b - '0'
	case 'a' <= b && b <= 'f':
		return b - 'a' + 10
	}
	return b - 'A' + 10
}

// isTchar: RFC 9110 §5.6.2 token characters.
func isTchar(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', isDigit(b):
		return true
	}
	return bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), b) >= 0
}

func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, ch := range b {
		if !isTchar(ch) {
			return false
		}
	}
	return true
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

func asciiEqualFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, ch := range b {
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		if ch != lower[i] {
			return false
		}
	}
	return true
}

// thousands formats n as Apigee's fault strings do: 7,168.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// CloseWrite lets net/http half-close the connection before closing it
// (so a client still sending gets the response before a reset), as it
// does on a bare TCP connection.
func (c *framingConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
