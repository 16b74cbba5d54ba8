package store

import (
	"errors"
	"fmt"
)

// Kinds of runtime-data errors, matched with errors.Is. (ErrNotFound is
// declared with the contracts.)
var (
	// ErrAlreadyExists: the first writer won (duplicate developer, app,
	// product, map, entry or consumer key).
	ErrAlreadyExists = errors.New("store: already exists")
	// ErrInvalid: the request names something that cannot be used (an
	// unknown API product on an app, a consumer key with bad characters, …).
	ErrInvalid = errors.New("store: invalid argument")
	// ErrConflict: an update lost to concurrent updates too many times.
	ErrConflict = errors.New("store: concurrent modification")
)

// Error carries a message fit for an API response; errors.Is matches its
// Kind.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Kind }

func errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

func isKind(err, kind error) bool { return errors.Is(err, kind) }
