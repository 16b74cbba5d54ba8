// Package app is MART's entry point: its command's main runs it, and
// a Go program can run it in its own process (the hybridtest harness)
// with Command.RunArgs and the command's flags.
package app

import (
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/mart/internal/mart"
)

// Command runs MART.
var Command = service.Command[mart.Config]{Name: "mart", EnvPrefix: "HYBRID_MART", Defaults: mart.DefaultConfig, Run: mart.Run}
