// Command mart serves runtime data (developers, apps, products, KVMs) from
// Cassandra to the control plane.
package main

import (
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/mart/internal/mart"
)

func main() {
	cfg := mart.DefaultConfig()
	service.Main("mart", "HYBRID_MART", &cfg, mart.Run)
}
