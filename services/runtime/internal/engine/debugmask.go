package engine

import (
	"encoding/json"
	"strings"

	"github.com/hybrid-emulator/hybrid/pkg/contract"
)

// masked replaces a value the environment's debug mask hides.
const masked = "*****"

// debugMask is a contract's DebugMask, compiled: the variables it hides
// (lower-cased, so header variables match whatever case the message
// has) and its JSON paths as key paths. XPaths are not applied.
type debugMask struct {
	vars                   map[string]bool
	request, response, flt [][]string
}

func compileDebugMask(m *contract.DebugMask) *debugMask {
	if m == nil {
		return nil
	}
	d := &debugMask{vars: map[string]bool{}}
	for _, v := range m.Variables {
		d.vars[strings.ToLower(v)] = true
	}
	paths := func(in []string) [][]string {
		var out [][]string
		for _, p := range in {
			if keys, ok := jsonKeyPath(p); ok {
				out = append(out, keys)
			}
		}
		return out
	}
	d.request, d.response, d.flt = paths(m.RequestJSONPaths), paths(m.ResponseJSONPaths), paths(m.FaultJSONPaths)
	return d
}

// jsonKeyPath parses the JSONPaths masks use: $.a.b or $['a'].b, with
// [*] for every element of an array.
func jsonKeyPath(p string) ([]string, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(p), "$")
	if !ok {
		return nil, false
	}
	var keys []string
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, "[*]"):
			keys, rest = append(keys, "*"), rest[3:]
		case strings.HasPrefix(rest, "['"):
			end := strings.Index(rest, "']")
			if end < 0 {
				return nil, false
			}
			keys, rest = append(keys, rest[2:end]), rest[end+2:]
		case strings.HasPrefix(rest, "."):
			rest = rest[1:]
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			if end == 0 {
				return nil, false
			}
			keys, rest = append(keys, rest[:end]), rest[end:]
		default:
			return nil, false
		}
	}
	return keys, len(keys) > 0
}

func (d *debugMask) hides(name string) bool { return d != nil && d.vars[strings.ToLower(name)] }

func (d *debugMask) requestPaths() [][]string {
	if d == nil {
		return nil
	}
	return d.request
}

// responsePaths are the response's and the fault's: an error response is
// the one a fault produced.
func (d *debugMask) responsePaths() [][]string {
	if d == nil {
		return nil
	}
	return append(append([][]string(nil), d.response...), d.flt...)
}

// maskJSON hides the values at paths in a JSON payload; a payload that is
// not JSON, or has none of the paths, is returned as it is.
func maskJSON(b []byte, paths [][]string) []byte {
	if len(paths) == 0 || len(b) == 0 {
		return b
	}
	var doc any
	if json.Unmarshal(b, &doc) != nil {
		return b
	}
	hit := false
	for _, p := range paths {
		hit = maskAt(doc, p) || hit
	}
	if !hit {
		return b
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return b
	}
	return out
}

func maskAt(v any, keys []string) bool {
	if len(keys) == 0 {
		return false
	}
	last := len(keys) == 1
	hit := false
	switch n := v.(type) {
	case map[string]any:
		if keys[0] == "*" {
			for k := range n {
				hit = maskChild(n, k, keys, last) || hit
			}
			return hit
		}
		if _, ok := n[keys[0]]; ok {
			return maskChild(n, keys[0], keys, last)
		}
	case []any:
		if keys[0] != "*" {
			return false
		}
		for i := range n {
			if last {
				n[i], hit = masked, true
			} else {
				hit = maskAt(n[i], keys[1:]) || hit
			}
		}
	}
	return hit
}

func maskChild(n map[string]any, k string, keys []string, last bool) bool {
	if last {
		n[k] = masked
		return true
	}
	return maskAt(n[k], keys[1:])
}
