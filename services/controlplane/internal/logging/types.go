package logging

import (
	"encoding/json"
	"strings"
)

// The wire types are google.logging.v2's JSON forms, as
// google.golang.org/api/logging/v2 sends and reads them. Parts the mock
// does not interpret (httpRequest, operation, sourceLocation, …) are kept
// as sent and given back as they were.

// WriteLogEntriesRequest is the body of entries.write.
type WriteLogEntriesRequest struct {
	LogName        string             `json:"logName,omitempty"`
	Resource       *MonitoredResource `json:"resource,omitempty"`
	Labels         map[string]string  `json:"labels,omitempty"`
	Entries        []LogEntry         `json:"entries"`
	PartialSuccess bool               `json:"partialSuccess,omitempty"`
	DryRun         bool               `json:"dryRun,omitempty"`
}

// ListLogEntriesRequest is the body of entries.list.
type ListLogEntriesRequest struct {
	ResourceNames []string `json:"resourceNames,omitempty"`
	// ProjectIds is the deprecated spelling of resourceNames
	// ["projects/ID"]; still accepted, as by Google.
	ProjectIds []string `json:"projectIds,omitempty"`
	Filter     string   `json:"filter,omitempty"`
	OrderBy    string   `json:"orderBy,omitempty"`
	PageSize   int64    `json:"pageSize,omitempty"`
	PageToken  string   `json:"pageToken,omitempty"`
}

// ListLogEntriesResponse is the answer of entries.list.
type ListLogEntriesResponse struct {
	Entries       []LogEntry `json:"entries,omitempty"`
	NextPageToken string     `json:"nextPageToken,omitempty"`
}

// MonitoredResource is the resource an entry is about.
type MonitoredResource struct {
	Type   string            `json:"type,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

// LogEntry is one entry. At most one payload is set.
type LogEntry struct {
	LogName          string             `json:"logName,omitempty"`
	Resource         *MonitoredResource `json:"resource,omitempty"`
	TextPayload      *string            `json:"textPayload,omitempty"`
	JSONPayload      json.RawMessage    `json:"jsonPayload,omitempty"`
	ProtoPayload     json.RawMessage    `json:"protoPayload,omitempty"`
	Timestamp        string             `json:"timestamp,omitempty"`
	ReceiveTimestamp string             `json:"receiveTimestamp,omitempty"`
	Severity         string             `json:"severity,omitempty"`
	InsertID         string             `json:"insertId,omitempty"`
	HTTPRequest      json.RawMessage    `json:"httpRequest,omitempty"`
	Labels           map[string]string  `json:"labels,omitempty"`
	Operation        json.RawMessage    `json:"operation,omitempty"`
	Trace            string             `json:"trace,omitempty"`
	SpanID           string             `json:"spanId,omitempty"`
	TraceSampled     bool               `json:"traceSampled,omitempty"`
	SourceLocation   json.RawMessage    `json:"sourceLocation,omitempty"`
	Split            json.RawMessage    `json:"split,omitempty"`
	Metadata         json.RawMessage    `json:"metadata,omitempty"`
	ErrorGroups      json.RawMessage    `json:"errorGroups,omitempty"`
	Apphub           json.RawMessage    `json:"apphub,omitempty"`
	ApphubSource     json.RawMessage    `json:"apphubSource,omitempty"`
	ApphubDest       json.RawMessage    `json:"apphubDestination,omitempty"`
	Otel             json.RawMessage    `json:"otel,omitempty"`
}

// severities are google.logging.type.LogSeverity's names and numbers.
var severities = map[string]int{
	"DEFAULT": 0, "DEBUG": 100, "INFO": 200, "NOTICE": 300, "WARNING": 400,
	"ERROR": 500, "CRITICAL": 600, "ALERT": 700, "EMERGENCY": 800,
}

// severityLevel is the number of a severity name ("" is DEFAULT).
func severityLevel(name string) (int, bool) {
	if name == "" {
		return 0, true
	}
	n, ok := severities[strings.ToUpper(name)]
	return n, ok
}
