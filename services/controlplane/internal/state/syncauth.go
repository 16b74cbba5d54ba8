package state

// SyncAuthorization is an org's list of identities (service accounts)
// allowed to fetch its runtime contracts, with the version its etag
// encodes.
type SyncAuthorization struct {
	Identities []string `json:"identities"`
	Version    int64    `json:"version"`
}

// TraceConfig is an environment's distributed trace configuration
// (Apigee's TraceConfig).
type TraceConfig struct {
	Exporter     string  `json:"exporter"`
	Endpoint     string  `json:"endpoint,omitempty"`
	Sampler      string  `json:"sampler,omitempty"`
	SamplingRate float64 `json:"samplingRate,omitempty"`
}
