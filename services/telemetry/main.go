// Command telemetry is the runtime plane's telemetry forwarder (hybrid's
// apigee-telemetry: its metrics collector and its logger): it sends the
// message processors' customer-facing metrics to Cloud Monitoring and the
// services' logs to Cloud Logging, both at the control plane.
package main

import "github.com/hybrid-emulator/hybrid/services/telemetry/app"

func main() { app.Command.Main() }
