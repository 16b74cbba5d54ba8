// Command runtime is the message processor: it loads runtime contracts from
// its synchronizer and serves API traffic through the deployed proxies.
package main

import (
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/mp"
)

func main() {
	cfg := mp.DefaultConfig()
	service.Main("runtime", "HYBRID_RUNTIME", &cfg, mp.Run)
}
