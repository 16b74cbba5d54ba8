// Package app is the message processor's entry point: its command's main runs it, and
// a Go program can run it in its own process (the hybridtest harness)
// with Command.RunArgs and the command's flags.
package app

import (
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/mp"
)

// Command runs the message processor.
var Command = service.Command[mp.Config]{Name: "runtime", EnvPrefix: "HYBRID_RUNTIME", Defaults: mp.DefaultConfig, Run: mp.Run}
