// Command synchronizer fetches environments' runtime contracts from the
// control plane, stores them in Cassandra and serves them to message
// processors.
package main

import "github.com/hybrid-emulator/hybrid/services/synchronizer/app"

func main() { app.Command.Main() }
