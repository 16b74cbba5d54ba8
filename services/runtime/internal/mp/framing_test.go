package mp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/hybrid-emulator/hybrid/pkg/service"
)

// The traffic listener's part of the security suite (docs/SECURITY.md):
// request smuggling through the listener the message processor serves
// traffic on (listenTraffic: the framing guard in front of net/http, with
// the traffic server's settings). The handler behind it stands where the
// engine does and records what reached it; the engine-level table is
// engine.TestRequestSmuggling.

type seen struct {
	mu     sync.Mutex
	reqs   []string // method path body
	bodyOK []bool
}

func (s *seen) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	s.mu.Lock()
	s.reqs = append(s.reqs, r.Method+" "+r.URL.Path+" "+string(b))
	s.bodyOK = append(s.bodyOK, err == nil)
	s.mu.Unlock()
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	_, _ = io.WriteString(w, "ok")
}

func (s *seen) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.reqs
	s.reqs, s.bodyOK = nil, nil
	return out
}

// trafficListener serves h the way the message processor serves the
// engine and returns the traffic address.
func trafficListener(t testing.TB, h http.Handler) string {
	t.Helper()
	svc, err := service.NewWithLogger("runtime", service.DefaultCommon("127.0.0.1:0"), zaptest.NewLogger(t))
	require.NoError(t, err)
	_, err = listenTraffic(svc, "127.0.0.1:0", h)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = svc.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return svc.Addr("traffic")
}

type response struct {
	code int
	body string
}

// rawExchange writes raw on a new connection and reads every response
// until the server closes the connection (or goes quiet).
func rawExchange(t testing.TB, addr, raw string) []response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(3*time.Second)))
	_, err = io.WriteString(c, raw)
	require.NoError(t, err)
	br := bufio.NewReader(c)
	var out []response
	for {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return out
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out = append(out, response{resp.StatusCode, string(b)})
	}
}

func codes(rs []response) []int {
	out := make([]int, len(rs))
	for i, r := range rs {
		out[i] = r.code
	}
	return out
}

// TestTrafficRequestSmuggling: a request head whose framing is ambiguous
// is refused before net/http reads it — one refusal, with Apigee's fault
// body, then the connection closes — and neither it nor the request
// hidden behind it ("GET /smuggled") reaches the handler.
func TestTrafficRequestSmuggling(t *testing.T) {
	backend := &seen{}
	addr := trafficListener(t, backend)
	const smuggled = "GET /smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
	tests := []struct {
		name string
		head string // request line and headers, without the final CRLF
		body string
		want int
		code string // the fault's errorcode, when the guard refuses
	}{
		// The four framings net/http accepts on its own.
		{"Content-Length with Transfer-Encoding: chunked", "POST /gw HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked", "0\r\n\r\n", http.StatusBadRequest, CodeBadFraming},
		{"Transfer-Encoding: chunked with Content-Length", "POST /gw HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 60", "0\r\n\r\n", http.StatusBadRequest, CodeBadFraming},
		{"two equal Content-Lengths", "POST /gw HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\nContent-Length: 3", "abc", http.StatusBadRequest, CodeDuplicateHeader},
		{"obs-fold continuation line", "POST /gw HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\r\n b\r\nContent-Length: 3", "abc", http.StatusBadRequest, CodeBadFraming},
		{"obs-fold hiding Transfer-Encoding", "POST /gw HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\r\n Transfer-Encoding: chunked\r\nContent-Length: 3", "abc", http.StatusBadRequest, CodeBadFraming},
		{"bare LF line endings", "POST /gw HTTP/1.1\nHost: 127.0.0.1\nContent-Length: 3\n", "abc", http.StatusBadRequest, CodeBadFraming},
		{"one bare LF among CRLFs", "POST /gw HTTP/1.1\r\nHost: 127.0.0.1\nContent-Length: 3", "abc", http.StatusBadRequest, CodeBadFraming},
		{"bare CR", "POST /gw HTTP/1.1\r\nHost: 127.0.0.1\rX: 1\r\nContent-Length: 3", "abc", http.StatusBadRequest, CodeBadFraming},
		{"Transfer-Encoding in HTTP/1.0", "POST /gw HTTP/1.0\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive", "0\r\n\r\n", http.StatusBadRequest, CodeBadFraming},
		{"the guard's own method", refusedMethod + " /0 HTTP/1.1\r\nHost: 127.0.0.1", "", http.StatusBadRequest, CodeBadFraming},
		// The engine table's cases, through the traffic listener.
		{"two different Content-Lengths", "POST /gw HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\nContent-Length: 60", "abc", http.StatusBadRequest, CodeDuplicateHeader},
		{"Content-Length with a sign", "POST /gw HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: +3", "abc", http.StatusBadRequest, CodeBadFraming},
		{"Content-Length in hex", "POST /gw HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0x3", "abc", http.StatusBadRequest, CodeBadFraming},
		{"Content-Length negative", "POST /gw HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1", "abc", http.StatusBadRequest, CodeBadFraming},
		{"Content-Length list", "POST /gw HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3, 60", "abc", http.StatusBadRequest, CodeBadFraming},
		{"space before the colon", "POST /gw HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length : 3", "abc", http.StatusBadRequest, CodeBadFraming},
		{"obs-fold as the first header line", "POST /gw HTTP/1.1\r\n Host: 127.0.0.1\r\nContent-Length: 3", "abc", http.StatusBadRequest, CodeBadFraming},
		{"header name with a space", "POST /gw HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer Encoding: chunked\r\nContent-Length: 3", "abc", http.StatusBadRequest, CodeBadFraming},
		{"two Hosts (net/http refuses)", "POST /gw HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil.example\r\nContent-Length: 3", "abc", http.StatusBadRequest, ""},
		{"Transfer-Encoding: chunked, identity", "POST /gw HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked, identity", "0\r\n\r\n", http.StatusNotImplemented, CodeBadFraming},
		{"Transfer-Encoding: identity with Content-Length", "POST /gw HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: identity\r\nContent-Length: 3", "abc", http.StatusNotImplemented, CodeBadFraming},
		{"two Transfer-Encodings", "POST /gw HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked", "0\r\n\r\n", http.StatusNotImplemented, CodeBadFraming},
		{"Transfer-Encoding: xchunked", "POST /gw HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: xchunked\r\nContent-Length: 3", "abc", http.StatusNotImplemented, CodeBadFraming},
		{"head over the traffic header cap", "POST /gw HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + strings.Repeat("a", TrafficMaxHeaderBytes) + "\r\nContent-Length: 3", "abc", http.StatusRequestHeaderFieldsTooLarge, "protocol.http.TooBigHeaders"},
		{"request line over the traffic header cap", "GET /gw?" + strings.Repeat("a", TrafficMaxHeaderBytes) + " HTTP/1.1\r\nHost: 127.0.0.1", "", http.StatusRequestURITooLong, "protocol.http.TooBigLine"},
		{"HTTP/2 prior knowledge", "PRI * HTTP/2.0", "SM\r\n\r\n", http.StatusHTTPVersionNotSupported, CodeBadFraming},
		{"HTTP/0.9-style request line", "GET /gw", "", http.StatusBadRequest, CodeBadFraming},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := rawExchange(t, addr, tt.head+"\r\n\r\n"+tt.body+smuggled)
			require.Equal(t, []int{tt.want}, codes(rs), "exactly one refusal, then the connection is closed")
			require.Empty(t, backend.take(), "nothing may reach the handler")
			if tt.code != "" {
				var f struct {
					Fault struct {
						Faultstring string
						Detail      struct{ Errorcode string }
					}
				}
				require.NoError(t, json.Unmarshal([]byte(rs[0].body), &f), rs[0].body)
				require.Equal(t, tt.code, f.Fault.Detail.Errorcode)
				require.NotEmpty(t, f.Fault.Faultstring)
			}
		})
	}

	// Behind a well-framed request on the same connection, the refusal
	// comes after that request's response, in order.
	t.Run("refusal behind a good pipelined request", func(t *testing.T) {
		rs := rawExchange(t, addr, "POST /first HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\nabc"+
			"POST /gw HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc"+smuggled)
		require.Equal(t, []int{http.StatusOK, http.StatusBadRequest}, codes(rs))
		require.Equal(t, []string{"POST /first abc"}, backend.take())
	})

	// A chunked body whose framing breaks after the head was accepted:
	// the handler sees its payload fail, and nothing after it is read.
	bodyCases := []struct{ name, body string }{
		{"bare LF after a chunk size", "3\nabc\r\n0\r\n\r\n"},
		{"bare LF after chunk data", "3\r\nabc\n0\r\n\r\n"},
		{"chunk data longer than its size", "3\r\nabcd\r\n0\r\n\r\n"},
		{"chunk size with a sign", "+3\r\nabc\r\n0\r\n\r\n"},
		{"chunk size with trailing space", "3 \r\nabc\r\n0\r\n\r\n"},
		{"chunk size too large", "10000000000000000\r\nabc\r\n0\r\n\r\n"},
		{"control character in a chunk extension", "3;a=\x01\r\nabc\r\n0\r\n\r\n"},
		{"bare LF in a trailer", "3\r\nabc\r\n0\r\nX-T: 1\n\r\n"},
		{"obs-fold in a trailer", "3\r\nabc\r\n0\r\nX-T: 1\r\n 2\r\n\r\n"},
		{"trailer without a colon", "3\r\nabc\r\n0\r\nX-T\r\n\r\n"},
	}
	for _, tt := range bodyCases {
		t.Run(tt.name, func(t *testing.T) {
			rs := rawExchange(t, addr, "POST /chunked HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"+tt.body+smuggled)
			require.Equal(t, []int{http.StatusBadRequest}, codes(rs), "the handler's answer to the broken payload, then the connection is closed")
			backend.mu.Lock()
			reqs, ok := backend.reqs, backend.bodyOK
			backend.mu.Unlock()
			require.Len(t, reqs, 1, "only the broken request reaches the handler")
			require.False(t, ok[0], "its payload read fails")
			backend.take()
		})
	}

	// The same connection handling serves well-framed pipelined requests
	// of every framing: the table fails for the framing, not because
	// pipelining is off.
	t.Run("well-framed pipelined requests", func(t *testing.T) {
		rs := rawExchange(t, addr, "\r\nPOST /a HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\nabc"+
			"POST /b HTTP/1.1\r\nHost: 127.0.0.1\r\ntransfer-encoding:  Chunked \r\n\r\n3;ext=\"q\"\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX-Trailer: t\r\n\r\n"+
			"GET /c HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"+
			"POST /d HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\nde"+
			"GET /e HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
		require.Equal(t, []int{200, 200, 200, 200, 200}, codes(rs))
		require.Equal(t, []string{"POST /a abc", "POST /b abc0123456789abcdef", "GET /c ", "POST /d de", "GET /e "}, backend.take())
	})
}

// TestTrafficExpectContinue: a client that waits for 100 Continue before
// sending its payload gets it and is served, on a connection it keeps.
func TestTrafficExpectContinue(t *testing.T) {
	backend := &seen{}
	addr := trafficListener(t, backend)
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.SetDeadline(time.Now().Add(3*time.Second)))
	br := bufio.NewReader(c)
	for i := range 2 {
		_, err = io.WriteString(c, "PUT /up HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
		require.NoError(t, err)
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "HTTP/1.1 100 Continue\r\n", line)
		blank, err := br.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "\r\n", blank)
		_, err = io.WriteString(c, "hello")
		require.NoError(t, err)
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err, "request %d", i)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	require.Equal(t, []string{"PUT /up hello", "PUT /up hello"}, backend.take())
}

// TestTrafficStreamsBodies: the guard passes a payload through as it
// arrives — the handler reads the first part while the client still
// holds the rest — for both framings.
func TestTrafficStreamsBodies(t *testing.T) {
	first := make(chan string, 1)
	addr := trafficListener(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 5)
		_, err := io.ReadFull(r.Body, buf)
		if err != nil {
			first <- err.Error()
			return
		}
		first <- string(buf)
		rest, _ := io.ReadAll(r.Body)
		_, _ = w.Write(rest)
	}))
	for _, framing := range []struct{ head, part1, part2 string }{
		{"Content-Length: 10", "hello", "world"},
		{"Transfer-Encoding: chunked", "5\r\nhello\r\n", "5\r\nworld\r\n0\r\n\r\n"},
	} {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		require.NoError(t, c.SetDeadline(time.Now().Add(3*time.Second)))
		_, err = io.WriteString(c, "POST /s HTTP/1.1\r\nHost: 127.0.0.1\r\n"+framing.head+"\r\n\r\n"+framing.part1)
		require.NoError(t, err)
		select {
		case got := <-first:
			require.Equal(t, "hello", got)
		case <-time.After(2 * time.Second):
			t.Fatalf("%s: the first part did not reach the handler before the rest was sent", framing.head)
		}
		_, err = io.WriteString(c, framing.part2)
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, "world", string(b))
		c.Close()
	}
}

// TestFramingConnSplitReads: the guard gives the same stream whatever the
// network's read sizes and the reader's buffer sizes.
func TestFramingConnSplitReads(t *testing.T) {
	stream := "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc" +
		"POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n" +
		"\r\nGET /c HTTP/1.1\r\nHost: h\r\n\r\n"
	want := strings.Replace(stream, "\r\n\r\nGET /c", "\r\nGET /c", 1) // the empty line before a request is dropped
	for _, netSize := range []int{1, 2, 3, 7, 64, 4096} {
		for _, readSize := range []int{1, 5, 4096} {
			c := &framingConn{Conn: &chunkConn{data: []byte(stream), size: netSize}}
			var got []byte
			buf := make([]byte, readSize)
			for {
				n, err := c.Read(buf)
				got = append(got, buf[:n]...)
				if err != nil {
					require.ErrorIs(t, err, io.EOF)
					break
				}
			}
			require.Equal(t, want, string(got), "net %d read %d", netSize, readSize)
		}
	}
}

// chunkConn is a net.Conn reading data size bytes at a time.
type chunkConn struct {
	net.Conn
	data []byte
	size int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.size)], c.data)
	c.data = c.data[n:]
	return n, nil
}

// BenchmarkFramingGuard: the guard's cost reading pipelined requests
// (small Content-Length POSTs and chunked uploads) from memory, against
// reading the same bytes without it.
func BenchmarkFramingGuard(b *testing.B) {
	var sb strings.Builder
	body := strings.Repeat("x", 512)
	for i := range 100 {
		if i%2 == 0 {
			sb.WriteString("POST /gw/x?i=" + strconv.Itoa(i) + " HTTP/1.1\r\nHost: 127.0.0.1:8998\r\nUser-Agent: bench\r\nAccept: */*\r\nContent-Type: application/json\r\nContent-Length: 512\r\n\r\n" + body)
		} else {
			sb.WriteString("POST /gw/x HTTP/1.1\r\nHost: 127.0.0.1:8998\r\nTransfer-Encoding: chunked\r\n\r\n200\r\n" + body + "\r\n0\r\n\r\n")
		}
	}
	stream := []byte(sb.String())
	buf := make([]byte, 4096)
	run := func(b *testing.B, guard bool) {
		b.SetBytes(int64(len(stream)))
		b.ReportAllocs()
		for b.Loop() {
			var r io.Reader = &chunkConn{data: stream, size: 32 << 10}
			if guard {
				r = &framingConn{Conn: r.(net.Conn)}
			}
			for {
				if _, err := r.Read(buf); err != nil {
					break
				}
			}
		}
	}
	b.Run("guard", func(b *testing.B) { run(b, true) })
	b.Run("none", func(b *testing.B) { run(b, false) })
}

// BenchmarkTrafficListener: pipelined-free keep-alive requests through the
// real traffic listener (guard and net/http) to a trivial handler.
func BenchmarkTrafficListener(b *testing.B) {
	addr := trafficListener(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	}))
	benchListener(b, addr)
}

// BenchmarkTrafficListenerUnguarded is BenchmarkTrafficListener without
// the guard, for comparison.
func BenchmarkTrafficListenerUnguarded(b *testing.B) {
	svc, err := service.NewWithLogger("runtime", service.DefaultCommon("127.0.0.1:0"), zaptest.NewLogger(b))
	require.NoError(b, err)
	_, err = svc.Listen("traffic", "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	}), trafficServer)
	require.NoError(b, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = svc.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	benchListener(b, svc.Addr("traffic"))
}

func benchListener(b *testing.B, addr string) {
	c, err := net.Dial("tcp", addr)
	require.NoError(b, err)
	defer c.Close()
	br := bufio.NewReader(c)
	req := []byte("POST /gw HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"hello\":\"x\"}")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// FuzzFramingConn: whatever a client sends, the guard does not panic, a
// refusal is the last thing net/http reads, and net/http finds every
// request exactly where the guard does: each request it reads from the
// guard's output starts where the guard passed on a head.
func FuzzFramingConn(f *testing.F) {
	f.Add([]byte("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\nHost: h\r\n\r\n"), 7)
	f.Add([]byte("POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;x\r\nabc\r\n0\r\nT: 1\r\n\r\nGET /b HTTP/1.1\r\n\r\n"), 3)
	f.Add([]byte("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 1)
	f.Add([]byte("GET / HTTP/1.1\nHost: h\n\n"), 2)
	f.Add([]byte("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 1\r\n\r\nyGET / HTTP/1.0\r\n\r\n"), 5)
	f.Fuzz(func(t *testing.T, data []byte, size int) {
		size = 1 + (size&0xff)%64
		c := &framingConn{Conn: &chunkConn{data: data, size: size}}
		// Read a byte at a time to note where each head starts.
		var out []byte
		starts := map[int]bool{}
		var b [1]byte
		for {
			heads := c.heads
			n, err := c.Read(b[:])
			if c.heads != heads {
				starts[len(out)] = true
			}
			out = append(out, b[:n]...)
			if err != nil {
				break
			}
		}
		rd := bytes.NewReader(out)
		br := bufio.NewReader(rd)
		for {
			at := len(out) - rd.Len() - br.Buffered()
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			if req.Method == refusedMethod {
				if br.Buffered() > 0 {
					t.Fatalf("bytes after a refusal: %q", out)
				}
				return
			}
			if !starts[at] {
				t.Fatalf("net/http read a request at %d where the guard saw none: %q (heads at %v)", at, out, starts)
			}
			if _, err := io.Copy(io.Discard, req.Body); err != nil {
				return
			}
		}
	})
}
