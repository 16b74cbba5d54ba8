// Command udca is the Universal Data Collection Agent. In hybrid it collects
// analytics, trace and event data from message processors and uploads it to
// the control plane: here message processors stream records to its gRPC
// intake (port 20001), it buffers them in gzip'd newline-delimited JSON
// files per dataset and uploads each to a signed URL from the control
// plane's datalocation endpoint, retrying as hybrid's UDCA does.
package main

import "github.com/hybrid-emulator/hybrid/services/udca/app"

func main() { app.Command.Main() }
