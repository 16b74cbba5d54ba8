// Command watcher collects deployment status from message processors and
// reports it to the control plane.
package main

import "github.com/hybrid-emulator/hybrid/services/watcher/app"

func main() { app.Command.Main() }
