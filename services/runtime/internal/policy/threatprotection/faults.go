package threatprotection

import (
	"fmt"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
)

// faultStatus is the HTTP status of every runtime fault these policies
// raise, as the policies' "Runtime errors" tables in Apigee's reference
// document them — one table, so a status is decided in one place. Apigee
// answers a detected threat with 500, not 400: its own samples raise a
// generic 400 from a FaultRule so as not to tell an attacker more.
var faultStatus = map[string]int{
	"steps.regexprotection.ThreatDetected":            500,
	"steps.regexprotection.SourceMessageNotAvailable": 500,

	"steps.jsonthreatprotection.ExecutionFailed": 500,

	// Every XML limit violation (ElementNameExceeded, NodeDepthExceeded,
	// AttributeCountExceeded, …) is this one code; the faultstring names it.
	"steps.xmlthreatprotection.ExecutionFailed": 500,
}

// fault raises code with its documented status. A code missing from the
// table is a programming error that tests catch; it still fails the call
// with 500 rather than panicking.
func fault(code, format string, args ...any) error {
	status, ok := faultStatus[code]
	if !ok {
		status = 500
		format = "(undocumented fault) " + format
	}
	return flow.Errorf(status, code, "%s", fmt.Sprintf(format, args...))
}
