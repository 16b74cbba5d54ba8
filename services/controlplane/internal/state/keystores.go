package state

import "sort"

// Keystore is an environment keystore or truststore. Apigee makes no
// difference between the two: a truststore is a keystore whose aliases
// hold certificates only.
//
// Private keys are kept here unencrypted, so they end up in state.json,
// which is written with mode 0600 (os.CreateTemp). The runtime receives
// them only inside the environment's contract; real hybrid encrypts them
// with the org's key before they leave the control plane, this emulator
// does not.
type Keystore struct {
	Name      string            `json:"name"`
	CreatedAt int64             `json:"createdAt"`
	Aliases   map[string]*Alias `json:"aliases,omitempty"`
}

// Alias types, as the Apigee API names them.
const (
	AliasCert    = "CERT"
	AliasKeyCert = "KEY_CERT"
)

// Alias is one entry of a keystore: a certificate chain, leaf first, and
// for KEY_CERT aliases the matching private key.
type Alias struct {
	Name string `json:"name"`
	Type string `json:"type"`
	// CertPEM is the chain as PEM CERTIFICATE blocks, leaf first.
	CertPEM string `json:"certPem"`
	// KeyPEM is the private key as an unencrypted PKCS#8 PEM block; empty
	// for CERT aliases.
	KeyPEM         string `json:"keyPem,omitempty"`
	CreatedAt      int64  `json:"createdAt"`
	LastModifiedAt int64  `json:"lastModifiedAt"`
}

// Reference names a keystore or truststore indirectly (SSLInfo
// `ref://name`), so the keystore behind it can change without
// redeploying proxies.
type Reference struct {
	Name         string `json:"name"`
	Description  string `json:"description,omitempty"`
	ResourceType string `json:"resourceType"` // KeyStore or TrustStore
	Refers       string `json:"refers"`
}

// KeystoreNames returns the environment's keystore names, sorted.
func (e *Environment) KeystoreNames() []string {
	names := make([]string, 0, len(e.Keystores))
	for n := range e.Keystores {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// AliasNames returns the keystore's alias names, sorted.
func (k *Keystore) AliasNames() []string {
	names := make([]string, 0, len(k.Aliases))
	for n := range k.Aliases {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ReferenceNames returns the environment's reference names, sorted.
func (e *Environment) ReferenceNames() []string {
	names := make([]string, 0, len(e.References))
	for n := range e.References {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ReferencesTo returns the names of the references pointing at keystore,
// sorted.
func (e *Environment) ReferencesTo(keystore string) []string {
	var out []string
	for _, n := range e.ReferenceNames() {
		if e.References[n].Refers == keystore {
			out = append(out, n)
		}
	}
	return out
}
