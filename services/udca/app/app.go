// Package app is UDCA's entry point: its command's main runs it, and
// a Go program can run it in its own process (the hybridtest harness)
// with Command.RunArgs and the command's flags.
package app

import (
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/udca/internal/udca"
)

// Command runs UDCA.
var Command = service.Command[udca.Config]{Name: "udca", EnvPrefix: "HYBRID_UDCA", Defaults: udca.DefaultConfig, Run: udca.Run}
