package main

import (
	"io"
	"os"
)

// colours used on a terminal.
const (
	green = "32"
	red   = "31"
	bold  = "1"
)

// isTerminal reports whether w is a character device (a terminal), not a
// pipe or a file.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// useColour reports whether output to w may carry colour: only on a
// terminal, and never with NO_COLOR set (https://no-color.org) or
// TERM=dumb.
func useColour(w io.Writer) bool {
	if _, off := os.LookupEnv("NO_COLOR"); off || os.Getenv("TERM") == "dumb" {
		return false
	}
	return isTerminal(w)
}

// paint wraps s in an SGR colour code when on is set.
func paint(on bool, code, s string) string {
	if !on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}
