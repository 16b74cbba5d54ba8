// Command runtime is the message processor: it loads runtime contracts from
// its synchronizer and serves API traffic through the deployed proxies.
package main

import "github.com/hybrid-emulator/hybrid/services/runtime/app"

func main() { app.Command.Main() }
