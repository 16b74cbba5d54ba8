package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// completionWords are what may follow each command (besides files).
var completionWords = map[string][]string{
	"logs":       append(serviceNames(), "--tail", "-f"),
	"status":     {"--json", "--wait", "--only", "--endpoints"},
	"outage":     {"start", "stop", "status", "report", "--service", "--latency", "--error-rate", "--mode"},
	"trace":      {"start", "get", "--api", "--rev", "--json"},
	"schema":     {"apply"},
	"cassandra":  {"secure"},
	"up":         {"--regions", "--seed"},
	"deploy":     {"--json"},
	"lint":       {"--json", "--rules", "--targetservers", "--targetserver"},
	"apply":      {"-f", "--emit", "--env"},
	"completion": {"bash", "zsh"},
	"snapshot":   {"export", "import", "-o", "--org"},
}

// fileCommands complete file and folder names.
var fileCommands = []string{"deploy", "lint", "apply", "keys", "pki", "snapshot"}

func serviceNames() []string {
	out := make([]string, 0, len(defaultEndpoints))
	for _, e := range defaultEndpoints {
		out = append(out, e.name)
	}
	return out
}

// runCompletion prints a completion script for bash or zsh (zsh runs the
// bash one through bashcompinit).
func runCompletion(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("completion", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	shell := fs.Arg(0)
	if shell != "bash" && shell != "zsh" {
		return errors.New(`completion bash|zsh: e.g. source <(hybridctl completion bash), or put its output in a file your shell reads`)
	}
	names := make([]string, 0, len(commands))
	for _, c := range commands {
		names = append(names, c.name)
	}
	var b strings.Builder
	b.WriteString("# hybridctl completion (hybridctl completion " + shell + ")\n")
	if shell == "zsh" {
		b.WriteString("autoload -U +X bashcompinit && bashcompinit\n")
	}
	b.WriteString("_hybridctl() {\n  local cur=${COMP_WORDS[COMP_CWORD]}\n")
	fmt.Fprintf(&b, "  if (( COMP_CWORD == 1 )); then\n    COMPREPLY=($(compgen -W %q -- \"$cur\"))\n    return\n  fi\n", strings.Join(names, " "))
	b.WriteString("  case ${COMP_WORDS[1]} in\n")
	cmds := make([]string, 0, len(completionWords))
	for c := range completionWords {
		cmds = append(cmds, c)
	}
	sort.Strings(cmds)
	for _, c := range cmds {
		files := ""
		for _, f := range fileCommands {
			if f == c {
				files = "; COMPREPLY+=($(compgen -f -- \"$cur\"))"
			}
		}
		fmt.Fprintf(&b, "    %s) COMPREPLY=($(compgen -W %q -- \"$cur\"))%s ;;\n", c, strings.Join(completionWords[c], " "), files)
	}
	b.WriteString("    *) COMPREPLY=($(compgen -f -- \"$cur\")) ;;\n  esac\n}\ncomplete -o filenames -F _hybridctl hybridctl\n")
	_, err := io.WriteString(stdout, b.String())
	return err
}

// The completion command lists the command table, which lists it: it is
// added here, after the table is built.
func init() {
	commands = append(commands,
		command{"completion", "completion bash|zsh: print a shell completion script (source <(hybridctl completion bash))", runCompletion})
}
