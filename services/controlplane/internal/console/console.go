// Package console serves the control plane's web console: static HTML,
// JavaScript modules and CSS embedded in the binary, with no build step and
// nothing fetched from the network at run time. The console holds no
// privileges of its own: the page calls the same Apigee API every other
// client calls, with the bearer token the user gives it (docs/CONSOLE.md).
package console

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

// Path is where the console is served; Path without its trailing slash
// redirects there.
const Path = "/console/"

// ContentSecurityPolicy allows the page's own files and calls to its own
// origin only: no inline script or style, no frames, no other hosts. The
// page never needs more, so a stray injection cannot load or send anything.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

//go:embed static
var static embed.FS

// file is one embedded file with the headers it is served with.
type file struct {
	body        []byte
	contentType string
	etag        string
}

// Handler serves the console's files from memory.
type Handler struct {
	files map[string]file
}

// New reads the embedded files once: their types and ETags never change
// while the process runs.
func New() *Handler {
	h := &Handler{files: map[string]file{}}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ct := mime.TypeByExtension(path.Ext(p))
		// The platform's MIME table may lack or misname these; a module
		// script must be served as JavaScript or the browser refuses it.
		switch path.Ext(p) {
		case ".js", ".mjs":
			ct = "text/javascript; charset=utf-8"
		case ".css":
			ct = "text/css; charset=utf-8"
		case ".html":
			ct = "text/html; charset=utf-8"
		case ".svg":
			ct = "image/svg+xml"
		}
		if ct == "" {
			ct = "application/octet-stream"
		}
		h.files[strings.TrimPrefix(p, "static/")] = file{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic("console: embedded files: " + err.Error()) // the embed is fixed at build time
	}
	return h
}

// Register serves the console on a mux: Path and Path without its slash.
func Register(handle func(pattern string, h http.Handler)) {
	h := New()
	handle(Path, h)
	handle(strings.TrimSuffix(Path, "/"), h)
}

// ServeHTTP serves GET and HEAD of the embedded files. Every answer is
// revalidated (no-cache with an ETag): a rebuilt control plane serves its
// new console at once, and an unchanged file costs a 304.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", ContentSecurityPolicy)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path == strings.TrimSuffix(Path, "/") {
		target := Path
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if name == "" {
		name = "index.html"
	}
	f, ok := h.files[name]
	if !ok {
		hd.Set("Cache-Control", "no-store")
		http.NotFound(w, r)
		return
	}
	hd.Set("Content-Type", f.contentType)
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", f.etag)
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatches(match, f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(f.body)
}

// etagMatches reports whether an If-None-Match header names etag.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
