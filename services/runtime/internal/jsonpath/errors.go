package jsonpath

import (
	"errors"
	"fmt"
)

// ErrNotFound is returned (wrapped) by Eval when a definite path matches
// nothing: Jayway's PathNotFoundException. An indefinite path that
// matches nothing is not an error; it gives an empty list.
var ErrNotFound = errors.New("no results for path")

// SyntaxError is a JSONPath that Jayway refuses to compile.
type SyntaxError struct {
	Path string
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("invalid JSONPath %q: %s", e.Path, e.Msg) }

// EvalError is a failure while evaluating a path that is not
// ErrNotFound: an unknown function, a filter applied to a primitive, an
// aggregation over no numbers.
type EvalError struct {
	Path string
	Msg  string
	// invalidPath: Jayway threw InvalidPathException (an unknown
	// function, a filter on a primitive), not another exception.
	invalidPath bool
}

func (e *EvalError) Error() string { return fmt.Sprintf("JSONPath %s: %s", e.Path, e.Msg) }

// The evaluator is a port of Jayway's, whose control flow leans on
// exceptions caught at a few chosen places (a filter that throws
// InvalidPathException is false, a path in a filter that throws
// PathNotFoundException is undefined, the filter compiler backtracks on
// InvalidPathException). The port keeps that shape with panics of one
// type, recovered at the same places and turned into errors at the API.
type exKind int

const (
	// exInvalid is InvalidPathException.
	exInvalid exKind = iota
	// exNotFound is PathNotFoundException, a subclass of
	// InvalidPathException: every catch of exInvalid catches it too.
	exNotFound
	// exOther is any other exception: JsonPathException, a number that
	// does not parse, an index out of bounds.
	exOther
)

type exception struct {
	kind exKind
	msg  string
}

func throw(kind exKind, format string, a ...any) {
	panic(&exception{kind: kind, msg: fmt.Sprintf(format, a...)})
}

// catch runs f and returns the exception it threw, if any, for the kinds
// accepted; other panics (of other kinds, or Go runtime errors) go on.
func catch(f func(), accept func(*exception) bool) (ex *exception) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(*exception)
			if !ok || !accept(e) {
				panic(r)
			}
			ex = e
		}
	}()
	f()
	return nil
}

func anyEx(*exception) bool { return true }

// invalidEx matches what `catch (InvalidPathException e)` catches.
func invalidEx(e *exception) bool { return e.kind == exInvalid || e.kind == exNotFound }

func notFoundEx(e *exception) bool { return e.kind == exNotFound }

func errorsIsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
