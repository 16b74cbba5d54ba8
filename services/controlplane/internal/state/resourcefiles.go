package state

// ResourceFile is an environment-scoped resource file (the
// …/environments/{env}/resourcefiles API); those of type "properties" are
// the environment's property sets.
type ResourceFile struct {
	Type           string `json:"type"`
	Name           string `json:"name"`
	Content        []byte `json:"content"`
	CreatedAt      int64  `json:"createdAt"`
	LastModifiedAt int64  `json:"lastModifiedAt"`
}

// ResourceFileKey is the key of a resource file in
// Environment.ResourceFiles: "<type>/<name>".
func ResourceFileKey(typ, name string) string { return typ + "/" + name }
