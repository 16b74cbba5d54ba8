// Package app is the synchronizer's entry point: its command's main runs it, and
// a Go program can run it in its own process (the hybridtest harness)
// with Command.RunArgs and the command's flags.
package app

import (
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/synchronizer/internal/synchronizer"
)

// Command runs the synchronizer.
var Command = service.Command[synchronizer.Config]{Name: "synchronizer", EnvPrefix: "HYBRID_SYNCHRONIZER", Defaults: synchronizer.DefaultConfig, Run: synchronizer.Run}
