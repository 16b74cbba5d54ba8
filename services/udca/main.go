// Command udca is the Universal Data Collection Agent: it collects analytics,
// trace and event data from message processors and uploads it.
package main

import (
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/udca/internal/udca"
)

func main() {
	cfg := udca.DefaultConfig()
	service.Main("udca", "HYBRID_UDCA", &cfg, udca.Run)
}
