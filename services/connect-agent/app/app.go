// Package app is the Apigee Connect agent's entry point: its command's main runs it, and
// a Go program can run it in its own process (the hybridtest harness)
// with Command.RunArgs and the command's flags.
package app

import (
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/connect-agent/internal/agent"
)

// Command runs the Apigee Connect agent.
var Command = service.Command[agent.Config]{Name: "connect-agent", EnvPrefix: "HYBRID_CONNECT_AGENT", Defaults: agent.DefaultConfig, Run: agent.Run}
