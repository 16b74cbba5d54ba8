package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// `hybridctl trace start|get`: debug sessions
// (…/apis/{api}/revisions/{rev}/debugsessions) without composing URLs.

// traceTx is a captured transaction (DebugSessionTransaction), decoded
// as far as the summary needs.
type traceTx struct {
	Completed bool `json:"completed"`
	Point     []struct {
		ID      string `json:"id"`
		Results []struct {
			ActionResult string `json:"ActionResult"`
			Verb         string `json:"verb"`
			URI          string `json:"uRI"`
			StatusCode   string `json:"statusCode"`
			Properties   *struct {
				Property []struct {
					Name  string `json:"name"`
					Value string `json:"value"`
				} `json:"property"`
			} `json:"properties"`
		} `json:"results"`
	} `json:"point"`
}

// traceSummary is one line of `hybridctl trace`: the request, the
// response status and the steps that ran (name, and "!" when it failed).
type traceSummary struct {
	ID     string   `json:"id"`
	Verb   string   `json:"verb"`
	URI    string   `json:"uri"`
	Status string   `json:"status"`
	Steps  []string `json:"steps"`
}

func summarize(id string, tx *traceTx) traceSummary {
	s := traceSummary{ID: id, Steps: []string{}}
	for _, p := range tx.Point {
		for _, r := range p.Results {
			switch r.ActionResult {
			case "RequestMessage":
				if s.Verb == "" {
					s.Verb, s.URI = r.Verb, r.URI
				}
			case "ResponseMessage":
				if r.StatusCode != "" {
					s.Status = r.StatusCode
				}
			case "DebugInfo":
				if p.ID != "Execution" || r.Properties == nil {
					continue
				}
				name, ok := "", true
				for _, pr := range r.Properties.Property {
					switch pr.Name {
					case "stepDefinition-name":
						name = pr.Value
					case "result":
						ok = pr.Value == "true"
					}
				}
				if !ok {
					name += "!"
				}
				s.Steps = append(s.Steps, name)
			}
		}
	}
	return s
}

// traceClient talks to one proxy revision's debug sessions.
type traceClient struct {
	base, token, parent string
}

func (c *traceClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/v1/"+c.parent+"/debugsessions"+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("debug sessions API: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("debug sessions API: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("debug sessions API: HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(data)))
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = data
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("debug sessions API: decode: %w", err)
	}
	return nil
}

func (c *traceClient) ids(ctx context.Context, session string) ([]string, error) {
	var ids []string
	err := c.do(ctx, http.MethodGet, "/"+url.PathEscape(session)+"/data", nil, &ids)
	return ids, err
}

func (c *traceClient) tx(ctx context.Context, session, id string) (json.RawMessage, *traceTx, error) {
	var raw json.RawMessage
	if err := c.do(ctx, http.MethodGet, "/"+url.PathEscape(session)+"/data/"+url.PathEscape(id), nil, &raw); err != nil {
		return nil, nil, err
	}
	var tx traceTx
	if err := json.Unmarshal(raw, &tx); err != nil {
		return nil, nil, fmt.Errorf("debug sessions API: decode: %w", err)
	}
	return raw, &tx, nil
}

// printTx prints one transaction: its JSON (one line) or its summary.
func printTx(w io.Writer, asJSON bool, id string, raw json.RawMessage, tx *traceTx) error {
	if asJSON {
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return err
		}
		_, err := fmt.Fprintf(w, "{\"id\":%q,\"transaction\":%s}\n", id, buf.Bytes())
		return err
	}
	s := summarize(id, tx)
	_, err := fmt.Fprintf(w, "%s  %s %s  -> %s  steps: %s\n", s.ID, s.Verb, s.URI, s.Status, strings.Join(s.Steps, ", "))
	return err
}

func runTrace(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "start" && args[0] != "get") {
		return errors.New("usage: hybridctl trace start|get --api NAME --rev N [flags]")
	}
	sub := args[0]
	fs := flag.NewFlagSet("trace "+sub, flag.ContinueOnError)
	base := fs.String("url", envOr("HYBRID_CONTROLPLANE_URL", "http://127.0.0.1:8080"), "control plane base URL (env HYBRID_CONTROLPLANE_URL)")
	org := fs.String("org", envOr("HYBRID_ORG", "hybrid"), "organization (env HYBRID_ORG)")
	env := fs.String("env", envOr("HYBRID_ENV", "test"), "environment (env HYBRID_ENV)")
	api := fs.String("api", "", "API proxy (required)")
	rev := fs.String("rev", "", "revision (required)")
	asJSON := fs.Bool("json", false, "print each transaction as one JSON line ({id, transaction}) instead of a summary")
	// start
	count := fs.Int("count", 10, "start: transactions to capture (1-15)")
	filter := fs.String("filter", "", `start: a condition the request must match, e.g. request.header.x-debug = "yes"`)
	tracesize := fs.Int("tracesize", 0, "start: payload bytes captured (default 5120)")
	timeout := fs.Duration("timeout", 10*time.Minute, "start: how long the session captures")
	poll := fs.Duration("poll", time.Second, "start: how often to look for new transactions")
	// get
	session := fs.String("session", "", "get: the session id (required)")
	txID := fs.String("tx", "", "get: one transaction id (default: all of the session)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *api == "" || *rev == "" {
		return errors.New("--api and --rev are required")
	}
	c := &traceClient{base: strings.TrimSuffix(*base, "/"), token: envOr("HYBRID_ADMIN_TOKEN", "hybrid-admin-token"),
		parent: "organizations/" + url.PathEscape(*org) + "/environments/" + url.PathEscape(*env) + "/apis/" + url.PathEscape(*api) + "/revisions/" + url.PathEscape(*rev)}
	if sub == "get" {
		if *session == "" {
			return errors.New("--session is required")
		}
		ids := []string{*txID}
		if *txID == "" {
			var err error
			if ids, err = c.ids(ctx, *session); err != nil {
				return err
			}
		}
		for _, id := range ids {
			raw, tx, err := c.tx(ctx, *session, id)
			if err != nil {
				return err
			}
			if err := printTx(stdout, *asJSON, id, raw, tx); err != nil {
				return err
			}
		}
		return nil
	}

	if *count < 1 || *count > 15 {
		return errors.New("--count must be between 1 and 15")
	}
	secs := int64(timeout.Round(time.Second) / time.Second)
	if secs < 1 {
		return errors.New("--timeout must be at least 1s")
	}
	var s struct {
		Name string `json:"name"`
	}
	in := map[string]any{"count": *count, "timeout": fmt.Sprint(secs), "filter": *filter}
	if *tracesize > 0 {
		in["tracesize"] = *tracesize
	}
	if err := c.do(ctx, http.MethodPost, "", in, &s); err != nil {
		return err
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "debug session %s started on %s/%s %s revision %s; waiting for %d transactions (Ctrl-C to stop)\n",
			s.Name, *org, *env, *api, *rev, *count)
	}
	// Print transactions as they arrive, until the session has its count
	// or ends.
	seen := map[string]bool{}
	deadline := time.Now().Add(*timeout)
	t := time.NewTicker(*poll)
	defer t.Stop()
	for {
		ids, err := c.ids(ctx, s.Name)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			raw, tx, err := c.tx(ctx, s.Name, id)
			if err != nil {
				return err
			}
			if err := printTx(stdout, *asJSON, id, raw, tx); err != nil {
				return err
			}
		}
		if len(seen) >= *count || time.Now().After(deadline) {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil // Ctrl-C: the session goes on capturing; `trace get` shows the rest
		case <-t.C:
		}
	}
}
