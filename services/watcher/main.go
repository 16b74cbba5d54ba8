// Command watcher collects deployment status from message processors and
// reports it to the control plane.
package main

import (
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/watcher/internal/watcher"
)

func main() {
	cfg := watcher.DefaultConfig()
	service.Main("watcher", "HYBRID_WATCHER", &cfg, watcher.Run)
}
