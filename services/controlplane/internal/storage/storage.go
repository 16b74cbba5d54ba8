// Package storage is the control plane's mock of Cloud Storage for what
// UDCA uploads: it hands out signed URLs and accepts PUTs to them, in the
// manner of GCS's XML API with V4 signing (an HMAC key). A signed URL
// names the method, the object and an expiry, and its signature is an HMAC
// over all three (and the host), so an expired or altered URL is refused
// with 403 in the storage's own XML error shape. Objects are files under
// the state directory, written whole (temp file, fsync, rename) before the
// PUT is answered, so an acknowledged upload survives a restart.
package storage

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/atomicfile"
)

// PathPrefix is where the storage is served on the control plane's
// listeners (GCS serves /{bucket}/{object} on its own host).
const PathPrefix = "/storage/"

// MaxObjectBytes bounds one upload.
const MaxObjectBytes = 256 << 20

// Storage is the mock object store.
type Storage struct {
	dir      string
	secret   []byte
	accessID string
	now      func() time.Time
	log      *zap.Logger
	// OnUpload is told about each object written (the analytics ingest).
	OnUpload func(bucket, object string)

	mu     sync.Mutex
	faults map[string]int // bucket → HTTP status every request gets
}

// Open returns the storage kept in dir; its HMAC signing key is made on
// first use and kept in dir (0600), so URLs signed before a restart stay
// valid after it.
func Open(dir string, log *zap.Logger, now func() time.Time) (*Storage, error) {
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	keyPath := filepath.Join(dir, ".hmac-key")
	secret, err := os.ReadFile(keyPath)
	if errors.Is(err, os.ErrNotExist) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		secret = []byte(hex.EncodeToString(b))
		err = atomicfile.Write(keyPath, secret, 0o600)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: signing key: %w", err)
	}
	sum := sha256.Sum256(secret)
	return &Storage{dir: dir, secret: secret, accessID: "GOOG1" + strings.ToUpper(hex.EncodeToString(sum[:12])),
		now: now, log: log, faults: map[string]int{}}, nil
}

// Dir is where objects are kept: Dir/{bucket}/{object}.
func (s *Storage) Dir() string { return s.dir }

// SetFault makes every request to bucket answer status (0 clears it):
// the test switch behind the control plane's fault route.
func (s *Storage) SetFault(bucket string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == 0 {
		delete(s.faults, bucket)
		return
	}
	s.faults[bucket] = status
}

func (s *Storage) fault(bucket string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults[bucket]
}

var (
	bucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{1,220}[a-z0-9]$`)
	objectRE = regexp.MustCompile(`^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$`)
)

// ValidObject reports whether bucket and object are names this storage
// keeps (no dot segments: an object is a file path).
func ValidObject(bucket, object string) bool {
	if !bucketRE.MatchString(bucket) || !objectRE.MatchString(object) || len(object) > 1024 {
		return false
	}
	for _, seg := range strings.Split(object, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// SignedURL signs a method on an object for ttl, as GCS V4 signing with
// an HMAC key does; base is the scheme and host the caller reaches this
// control plane at ("http://127.0.0.1:8080").
func (s *Storage) SignedURL(base, method, bucket, object string, ttl time.Duration) (string, time.Time, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return "", time.Time{}, fmt.Errorf("storage: base URL %q", base)
	}
	now := s.now().UTC()
	stamp := now.Format("20060102T150405Z")
	scope := now.Format("20060102") + "/auto/storage/goog4_request"
	q := url.Values{
		"X-Goog-Algorithm":     {"GOOG4-HMAC-SHA256"},
		"X-Goog-Credential":    {s.accessID + "/" + scope},
		"X-Goog-Date":          {stamp},
		"X-Goog-Expires":       {strconv.Itoa(int(ttl / time.Second))},
		"X-Goog-SignedHeaders": {"host"},
	}
	path := PathPrefix + bucket + "/" + object
	_, _, sig := s.sign(method, path, u.Host, q)
	q.Set("X-Goog-Signature", sig)
	return u.Scheme + "://" + u.Host + escapePath(path) + "?" + q.Encode(), now.Add(ttl), nil
}

// sign computes the V4 signature of a request: the canonical request
// (method, path, query without the signature, the host header), its
// string to sign, and the signature with the key derived from the secret
// for the credential's date.
func (s *Storage) sign(method, path, host string, q url.Values) (canonical, toSign, sig string) {
	keys := make([]string, 0, len(q))
	for k := range q {
		if k != "X-Goog-Signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var cq []string
	for _, k := range keys {
		for _, v := range q[k] {
			cq = append(cq, url.QueryEscape(k)+"="+url.QueryEscape(v))
		}
	}
	canonical = strings.Join([]string{method, escapePath(path), strings.Join(cq, "&"), "host:" + strings.ToLower(host), "", "host", "UNSIGNED-PAYLOAD"}, "\n")
	cred := q.Get("X-Goog-Credential")
	scope := cred[strings.IndexByte(cred, '/')+1:]
	sum := sha256.Sum256([]byte(canonical))
	toSign = strings.Join([]string{"GOOG4-HMAC-SHA256", q.Get("X-Goog-Date"), scope, hex.EncodeToString(sum[:])}, "\n")
	date, _, _ := strings.Cut(scope, "/")
	key := hmacSum([]byte("GOOG4"+string(s.secret)), date)
	for _, part := range []string{"auto", "storage", "goog4_request"} {
		key = hmacSum(key, part)
	}
	return canonical, toSign, hex.EncodeToString(hmacSum(key, toSign))
}

func hmacSum(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func escapePath(p string) string {
	return (&url.URL{Path: p}).EscapedPath()
}

// xmlError is GCS's XML API error body.
type xmlError struct {
	XMLName          xml.Name `xml:"Error"`
	Code             string   `xml:"Code"`
	Message          string   `xml:"Message"`
	Details          string   `xml:"Details,omitempty"`
	StringToSign     string   `xml:"StringToSign,omitempty"`
	CanonicalRequest string   `xml:"CanonicalRequest,omitempty"`
}

func writeError(w http.ResponseWriter, status int, e xmlError) {
	w.Header().Set("Content-Type", "application/xml; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, xml.Header)
	_ = xml.NewEncoder(w).Encode(e)
}

// ServeHTTP serves PathPrefix{bucket}/{object}: PUT writes an object, GET
// reads it; both need a valid signed URL for that method and object.
func (s *Storage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, PathPrefix)
	bucket, object, _ := strings.Cut(rest, "/")
	if !ValidObject(bucket, object) {
		writeError(w, http.StatusBadRequest, xmlError{Code: "InvalidArgument", Message: "Invalid argument.", Details: "Invalid bucket or object name: " + rest})
		return
	}
	if status := s.fault(bucket); status != 0 {
		writeError(w, status, xmlError{Code: "InternalError", Message: "We encountered an internal error. Please try again.", Details: "fault injected"})
		return
	}
	if r.Method != http.MethodPut && r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET, PUT")
		writeError(w, http.StatusMethodNotAllowed, xmlError{Code: "MethodNotAllowed", Message: "The specified method is not allowed against this resource."})
		return
	}
	if e, ok := s.verify(r); !ok {
		writeError(w, http.StatusForbidden, e)
		return
	}
	path := filepath.Join(s.dir, bucket, filepath.FromSlash(object))
	if r.Method == http.MethodGet {
		http.ServeFile(w, r, path)
		return
	}
	if err := s.write(path, http.MaxBytesReader(w, r.Body, MaxObjectBytes)); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, xmlError{Code: "EntityTooLarge", Message: "Your proposed upload is larger than the maximum object size specified in your Policy Document."})
			return
		}
		s.log.Error("storage write failed", zap.String("object", bucket+"/"+object), zap.Error(err))
		writeError(w, http.StatusInternalServerError, xmlError{Code: "InternalError", Message: "We encountered an internal error. Please try again."})
		return
	}
	if s.OnUpload != nil {
		s.OnUpload(bucket, object)
	}
	w.WriteHeader(http.StatusOK)
}

// verify checks a signed URL: algorithm, credential, expiry, signature.
func (s *Storage) verify(r *http.Request) (xmlError, bool) {
	q := r.URL.Query()
	denied := func(details string) (xmlError, bool) {
		return xmlError{Code: "AccessDenied", Message: "Access denied.", Details: details}, false
	}
	if q.Get("X-Goog-Algorithm") != "GOOG4-HMAC-SHA256" || q.Get("X-Goog-SignedHeaders") != "host" || q.Get("X-Goog-Signature") == "" {
		return denied("Anonymous caller does not have storage.objects access; the URL is not signed.")
	}
	cred := q.Get("X-Goog-Credential")
	id, scope, ok := strings.Cut(cred, "/")
	if !ok || id != s.accessID || !strings.HasSuffix(scope, "/auto/storage/goog4_request") {
		return denied("The credential of the signed URL is not valid.")
	}
	signed, err := time.Parse("20060102T150405Z", q.Get("X-Goog-Date"))
	expires, eerr := strconv.Atoi(q.Get("X-Goog-Expires"))
	if err != nil || eerr != nil || expires < 1 || expires > 7*24*3600 || !strings.HasPrefix(scope, signed.Format("20060102")+"/") {
		return denied("The signed URL's X-Goog-Date or X-Goog-Expires is not valid.")
	}
	canonical, toSign, sig := s.sign(r.Method, r.URL.Path, r.Host, q)
	if !hmac.Equal([]byte(sig), []byte(q.Get("X-Goog-Signature"))) {
		return xmlError{Code: "SignatureDoesNotMatch", Message: "Access denied.",
			Details:      "The request signature we calculated does not match the signature you provided. Check your Google secret key and signing method.",
			StringToSign: toSign, CanonicalRequest: canonical}, false
	}
	if end := signed.Add(time.Duration(expires) * time.Second); !s.now().Before(end) {
		return xmlError{Code: "ExpiredToken", Message: "The provided token has expired.",
			Details: "Request signature expired at: " + end.UTC().Format(time.RFC3339)}, false
	}
	return xmlError{}, true
}

// write stores an object whole: a temp file, synced, renamed into place.
func (s *Storage) write(path string, body io.Reader) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".upload-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = io.Copy(f, body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}
