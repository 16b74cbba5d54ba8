// Package app is the watcher's entry point: its command's main runs it, and
// a Go program can run it in its own process (the hybridtest harness)
// with Command.RunArgs and the command's flags.
package app

import (
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/watcher/internal/watcher"
)

// Command runs the watcher.
var Command = service.Command[watcher.Config]{Name: "watcher", EnvPrefix: "HYBRID_WATCHER", Defaults: watcher.DefaultConfig, Run: watcher.Run}
