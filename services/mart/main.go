// Command mart serves runtime data (developers, apps, products, KVMs) from
// Cassandra to the control plane.
package main

import "github.com/hybrid-emulator/hybrid/services/mart/app"

func main() { app.Command.Main() }
