// Package xsl answers XSL policies with a precise compile error: no pure-Go
// XSLT 1.0 processor resolves from the module proxy this project builds
// with (cgo bindings to libxslt are ruled out to keep the runtime a static
// pure-Go binary), so a bundle using XSL fails its deployment instead of
// serving traffic that skips the transformation.
package xsl

import (
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
)

// Compile always fails, naming the stylesheet.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	res := "its stylesheet"
	if len(cc.Policy.ResourceURLs) > 0 {
		res = cc.Policy.ResourceURLs[0]
	}
	return nil, flow.Invalid("XSL", "XSL policy %s cannot run %s: this runtime has no XSLT 1.0 processor (no pure-Go implementation is available); use XMLToJSON/JSONToXML or a Javascript policy instead", cc.Policy.Name, res)
}
