// Package app is the telemetry forwarder's entry point: its command's main runs it, and
// a Go program can run it in its own process (the hybridtest harness)
// with Command.RunArgs and the command's flags.
package app

import (
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/telemetry/internal/telemetry"
)

// Command runs the telemetry forwarder.
var Command = service.Command[telemetry.Config]{Name: "telemetry", EnvPrefix: "HYBRID_TELEMETRY", Defaults: telemetry.DefaultConfig, Run: telemetry.Run}
