package bundle

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error Parse returns is a *ValidationError whose
// Unwrap yields exactly one of these, so callers can classify failures with
// errors.Is (all of them are client errors: HTTP 400 on import).
var (
	// ErrNotZip: the input is empty, not a zip archive, or a corrupt one.
	ErrNotZip = errors.New("not a valid zip archive")
	// ErrTooLarge: the archive, an entry, the total uncompressed size or
	// the number of entries exceeds Limits.
	ErrTooLarge = errors.New("too large")
	// ErrZipBomb: an entry (or the archive) decompresses far beyond its
	// compressed size, or beyond the size its header declares.
	ErrZipBomb = errors.New("suspicious compression ratio (zip bomb)")
	// ErrZipSlip: an entry name could escape the extraction directory
	// (absolute, "..", backslash, drive letter, NUL/control characters,
	// not UTF-8, non-canonical) or the entry is a symbolic link.
	ErrZipSlip = errors.New("unsafe entry name")
	// ErrMalformedXML: an XML file is not well-formed.
	ErrMalformedXML = errors.New("malformed XML")
	// ErrMissingReference: a step, route rule or policy refers to a
	// policy, target endpoint or resource that is not in the bundle.
	ErrMissingReference = errors.New("missing reference")
	// ErrInvalidBundle: anything else that makes the bundle unusable
	// (layout, wrong root element, duplicates — also entry names that
	// differ only in case —, bad values).
	ErrInvalidBundle = errors.New("invalid bundle")
)

// ValidationError describes why a bundle was rejected. File is the path of
// the offending zip entry (e.g. "apiproxy/policies/AM-1.xml"), or empty when
// the problem concerns the archive as a whole.
type ValidationError struct {
	File    string
	Problem string
	Err     error // one of the sentinel errors above
}

// Error returns "<file>: <class>: <problem>", e.g. "apiproxy/proxies/default.xml:
// malformed XML: line 3: …", so the message alone tells what kind of
// problem it is and where (the file is left out when the whole archive is
// at fault).
func (e *ValidationError) Error() string {
	msg := e.Problem
	if e.Err != nil && !strings.Contains(msg, e.Err.Error()) {
		msg = e.Err.Error() + ": " + msg
	}
	if e.File == "" {
		return msg
	}
	return e.File + ": " + msg
}

// Unwrap returns the sentinel error.
func (e *ValidationError) Unwrap() error { return e.Err }

func verr(sentinel error, file, format string, args ...any) *ValidationError {
	return &ValidationError{File: file, Problem: fmt.Sprintf(format, args...), Err: sentinel}
}
