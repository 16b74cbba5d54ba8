// Package statistics implements the StatisticsCollector policy: it records
// custom analytics dimensions as flow variables (statistics.<name>), typed
// as the policy says, for the analytics record of the request.
package statistics

import (
	"context"
	"net/http"
	"strconv"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
)

type stat struct {
	name, ref, typ, def string
}

type policy struct {
	name  string
	stats []stat
}

// Compile compiles a <StatisticsCollector>.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	root, err := xmltree.Parse(cc.Policy.XML)
	if err != nil {
		return nil, flow.Invalid("StatisticsCollector", "%v", err)
	}
	p := &policy{name: cc.Policy.Name}
	for _, s := range root.Child("Statistics").All("Statistic") {
		st := stat{name: s.Attr("name"), ref: s.Attr("ref"), typ: s.Attr("type"), def: s.Text}
		if st.name == "" {
			return nil, flow.Invalid("StatisticsCollector/Statistics/Statistic", "<Statistic> needs a name attribute")
		}
		switch st.typ {
		case "", "string", "integer", "float", "long", "double", "boolean":
		default:
			return nil, flow.Invalid("StatisticsCollector/Statistics/Statistic", "type %q is not string, integer, float, long, double or boolean", st.typ)
		}
		p.stats = append(p.stats, st)
	}
	return p, nil
}

func (p *policy) Execute(_ context.Context, mc *flow.MessageContext) error {
	for _, s := range p.stats {
		v, ok := mc.GetString(s.ref)
		if !ok || v == "" {
			v = s.def
		}
		var out any = v
		var err error
		switch s.typ {
		case "integer", "long":
			out, err = strconv.ParseInt(v, 10, 64)
		case "float", "double":
			out, err = strconv.ParseFloat(v, 64)
		case "boolean":
			out, err = strconv.ParseBool(v)
		}
		if err != nil {
			return flow.Errorf(http.StatusInternalServerError, "steps.statisticscollector.UnsupportedDatatype",
				"Unsupported datatype for statistic %s: %q is not a %s", s.name, v, s.typ)
		}
		mc.SetVar("statistics."+s.name, out)
	}
	return nil
}
