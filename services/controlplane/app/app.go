// Package app is the mock control plane's entry point: its command's main runs it, and
// a Go program can run it in its own process (the hybridtest harness)
// with Command.RunArgs and the command's flags.
package app

import (
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/server"
)

// Command runs the mock control plane.
var Command = service.Command[server.Config]{Name: "controlplane", EnvPrefix: "HYBRID_CONTROLPLANE", Defaults: server.DefaultConfig, Run: server.Run}
