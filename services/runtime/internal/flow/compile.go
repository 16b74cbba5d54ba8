package flow

import "fmt"

// InvalidPolicyError is a policy compile error: what in the policy file is
// wrong and why. The engine adds the bundle, file and revision.
type InvalidPolicyError struct {
	// Element is the path of the offending element inside the policy, e.g.
	// "AssignMessage/AssignTo".
	Element string
	Reason  string
}

func (e *InvalidPolicyError) Error() string {
	if e.Element == "" {
		return e.Reason
	}
	return e.Element + ": " + e.Reason
}

// Invalid returns an *InvalidPolicyError.
func Invalid(element, format string, args ...any) error {
	return &InvalidPolicyError{Element: element, Reason: fmt.Sprintf(format, args...)}
}
