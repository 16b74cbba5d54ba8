// Command udca is the Universal Data Collection Agent. In hybrid it collects
// analytics, trace and event data from message processors and uploads it to
// the control plane. Today it only prepares its buffer folders (api, trace,
// event) and reports ready when they are writable; the record stream and the
// uploads come with the analytics work.
package main

import (
	"github.com/hybrid-emulator/hybrid/pkg/service"
	"github.com/hybrid-emulator/hybrid/services/udca/internal/udca"
)

func main() {
	cfg := udca.DefaultConfig()
	service.Main("udca", "HYBRID_UDCA", &cfg, udca.Run)
}
