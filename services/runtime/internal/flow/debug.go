package flow

import "time"

// Tracer captures a transaction for a debug session. The engine sets
// MessageContext.Debug only on a transaction a session matched, so with
// no session the steps pay one nil check each.
type Tracer interface {
	// StepDone is told about each step reached: whether its condition
	// held (true without one; the policy ran only then), when it started
	// and the policy's error (nil on success).
	StepDone(mc *MessageContext, st *Step, ran bool, start time.Time, err error)
	// VarSet is told about each flow variable a policy sets.
	VarSet(name string, value any)
}
