// Package messagelogging implements the MessageLogging policy: a message
// template rendered per request and sent to a syslog server (UDP or TCP,
// optionally RFC 5424-formatted) or to the runtime's log sink
// (<CloudLogging>, written as a structured log line with the log name).
package messagelogging

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/template"
)

// CodeExecutionFailed is raised when a log cannot be delivered.
const CodeExecutionFailed = "steps.messagelogging.StepDefinitionExecutionFailed"

type syslog struct {
	msg      *template.Template
	addr     string
	protocol string
	format   bool
	dateFmt  string
}

type cloud struct {
	logName *template.Template
	msg     *template.Template
	labels  map[string]*template.Template
}

type policy struct {
	name   string
	level  string
	syslog *syslog
	cloud  *cloud
	log    *zap.Logger
}

// Compile compiles a <MessageLogging> policy.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	root, err := xmltree.Parse(cc.Policy.XML)
	if err != nil {
		return nil, flow.Invalid("MessageLogging", "%v", err)
	}
	p := &policy{name: cc.Policy.Name, level: root.ChildText("logLevel"), log: cc.Log}
	tpl := func(el *xmltree.Element, path string) (*template.Template, error) {
		t, err := template.Compile(el.Text)
		if err != nil {
			return nil, flow.Invalid(path, "%v", err)
		}
		return t, nil
	}
	if s := root.Child("Syslog"); s != nil {
		sl := &syslog{protocol: strings.ToUpper(s.ChildText("Protocol")), dateFmt: s.ChildText("DateFormat")}
		if sl.protocol == "" {
			sl.protocol = "UDP"
		}
		if sl.protocol != "UDP" && sl.protocol != "TCP" {
			return nil, flow.Invalid("MessageLogging/Syslog/Protocol", "protocol must be UDP or TCP, not %q", sl.protocol)
		}
		host, port := s.ChildText("Host"), s.ChildText("Port")
		if host == "" {
			return nil, flow.Invalid("MessageLogging/Syslog/Host", "Syslog needs a <Host>")
		}
		if port == "" {
			port = "514"
		}
		if _, err := strconv.Atoi(port); err != nil {
			return nil, flow.Invalid("MessageLogging/Syslog/Port", "%q is not a port number", port)
		}
		sl.addr = net.JoinHostPort(host, port)
		if sl.format, err = s.Bool("FormatMessage", false); err != nil {
			return nil, flow.Invalid("MessageLogging/Syslog/FormatMessage", "%v", err)
		}
		if sl.msg, err = tpl(s.Child("Message"), "MessageLogging/Syslog/Message"); err != nil {
			return nil, err
		}
		p.syslog = sl
	}
	if c := root.Child("CloudLogging"); c != nil {
		cl := &cloud{labels: map[string]*template.Template{}}
		if cl.logName, err = tpl(c.Child("LogName"), "MessageLogging/CloudLogging/LogName"); err != nil {
			return nil, err
		}
		if cl.msg, err = tpl(c.Child("Message"), "MessageLogging/CloudLogging/Message"); err != nil {
			return nil, err
		}
		for _, l := range c.Child("Labels").All("Label") {
			t, err := template.Compile(l.ChildText("Value"))
			if err != nil {
				return nil, flow.Invalid("MessageLogging/CloudLogging/Labels/Label", "%v", err)
			}
			cl.labels[l.ChildText("Key")] = t
		}
		p.cloud = cl
	}
	if p.syslog == nil && p.cloud == nil {
		return nil, flow.Invalid("MessageLogging", "needs a <Syslog> or a <CloudLogging> destination")
	}
	return p, nil
}

func (p *policy) Execute(ctx context.Context, mc *flow.MessageContext) error {
	if p.cloud != nil {
		fields := []zap.Field{zap.String("logName", p.cloud.logName.String(mc)), zap.String("policy", p.name),
			zap.String("org", mc.Proxy.Org), zap.String("env", mc.Proxy.Env), zap.String("apiproxy", mc.Proxy.Name)}
		for k, t := range p.cloud.labels {
			fields = append(fields, zap.String("label."+k, t.String(mc)))
		}
		p.log.Info(p.cloud.msg.String(mc), fields...)
	}
	if s := p.syslog; s != nil {
		msg := s.msg.String(mc)
		if s.format {
			host, _ := os.Hostname()
			ts := time.Now().UTC().Format(time.RFC3339Nano)
			if s.dateFmt != "" {
				ts = template.FormatJava(time.Now().UTC(), s.dateFmt)
			}
			// RFC 5424: <PRI>VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG
			msg = fmt.Sprintf("<%d>1 %s %s %s - - - %s", 8*16+priority(p.level), ts, host, "apigee", msg)
		}
		d := net.Dialer{Timeout: time.Second}
		conn, err := d.DialContext(ctx, strings.ToLower(s.protocol), s.addr)
		if err != nil {
			return flow.Errorf(http.StatusInternalServerError, CodeExecutionFailed, "Execution of MessageLogging %s failed: %v", p.name, err)
		}
		defer conn.Close()
		_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
		if s.protocol == "TCP" {
			msg += "\n"
		}
		if _, err := conn.Write([]byte(msg)); err != nil {
			return flow.Errorf(http.StatusInternalServerError, CodeExecutionFailed, "Execution of MessageLogging %s failed: %v", p.name, err)
		}
	}
	return nil
}

// priority maps logLevel to a syslog severity (default INFO).
func priority(level string) int {
	switch strings.ToUpper(level) {
	case "EMERGENCY":
		return 0
	case "ALERT":
		return 1
	case "CRITICAL":
		return 2
	case "ERROR":
		return 3
	case "WARNING":
		return 4
	case "NOTICE":
		return 5
	case "DEBUG":
		return 7
	}
	return 6
}
