// Command runtime is the message processor: it loads runtime contracts from
// its synchronizer and serves API traffic through the deployed proxies.
package main

import (
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/runtime"
)

func main() {
	cfg := runtime.DefaultConfig()
	service.Main("runtime", "HYBRID_RUNTIME", &cfg, runtime.Run)
}
