// Command synchronizer fetches environments' runtime contracts from the
// control plane, stores them in Cassandra and serves them to message
// processors.
package main

import (
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/synchronizer/internal/synchronizer"
)

func main() {
	cfg := synchronizer.DefaultConfig()
	service.Main("synchronizer", "HYBRID_SYNCHRONIZER", &cfg, synchronizer.Run)
}
