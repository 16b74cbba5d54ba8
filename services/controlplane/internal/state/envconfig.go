package state

import "github.com/hybrid-emulator/hybrid/pkg/contract"

// FlowHook is a shared flow attached to a flow hook point of an environment.
type FlowHook struct {
	SharedFlow      string `json:"sharedFlow"`
	ContinueOnError bool   `json:"continueOnError"`
	Description     string `json:"description,omitempty"`
}

// TargetServer is an environment's target server; the runtime part is the
// contract's shape, Description is management-only.
type TargetServer struct {
	contract.TargetServer
	Description string `json:"description,omitempty"`
}
