// Command connect-agent is the Apigee Connect agent: it dials out to the
// control plane and carries management calls to MART.
package main

import "github.com/hybrid-emulator/hybrid/services/connect-agent/app"

func main() { app.Command.Main() }
