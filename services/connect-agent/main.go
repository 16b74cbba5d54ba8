// Command connect-agent is the Apigee Connect agent: it dials out to the
// control plane and carries management calls to MART.
package main

import (
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/connect-agent/internal/agent"
)

func main() {
	cfg := agent.DefaultConfig()
	service.Main("connect-agent", "HYBRID_CONNECT_AGENT", &cfg, agent.Run)
}
