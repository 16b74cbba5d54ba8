// Command controlplane is the mock Apigee control plane: it speaks the
// public Apigee API (over HTTP and HTTPS) so real clients work against it,
// keeps its own state under stateDir, and publishes runtime contracts to
// the runtime plane's synchronizers.
package main

import "github.com/hybrid-emulator/hybrid/services/controlplane/app"

func main() { app.Command.Main() }
