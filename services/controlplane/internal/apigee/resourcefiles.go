package apigee

import (
	"encoding/base64"
	"mime/multipart"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
)

// Environment-scoped resource files (organizations.environments.resourcefiles):
// create with ?type=&name= and the file as the raw body, as multipart field
// "file" or as the Go client's JSON google.api.HttpBody; list (all or one
// type); get the content; update; delete. Every change gives the
// environment a new contract version, which carries the files to the
// runtime; files of type properties are the environment's property sets,
// validated here as Java properties files.

// resourceFileTypes are the types Apigee documents for resource files.
var resourceFileTypes = map[string]bool{
	"java": true, "js": true, "jsc": true, "properties": true, "py": true, "wsdl": true, "xsd": true, "xsl": true,
	"oas": true, "graphql": true,
}

// resourceFileNameRE is the documented name pattern.
var resourceFileNameRE = regexp.MustCompile("^[a-zA-Z0-9:/\\\\!@#$%^&{}\\[\\]()+\\-=,.~'` ]{1,255}$")

// maxResourceFileBody bounds an upload (the base64 JSON form included).
const maxResourceFileBody = 16 << 20

// resourceFileContentType is the content type of GET …/resourcefiles/{type}/{name}.
const resourceFileContentType = "application/octet-stream"

func checkResourceFileType(typ string) error {
	if typ == "" {
		return apierr.InvalidArgument("Resource file type is required (one of %s).", strings.Join(sortedResourceTypes(), ", "))
	}
	if !resourceFileTypes[typ] {
		return apierr.InvalidArgument("Invalid resource file type %q: must be one of %s.", typ, strings.Join(sortedResourceTypes(), ", "))
	}
	return nil
}

func sortedResourceTypes() []string {
	out := make([]string, 0, len(resourceFileTypes))
	for t := range resourceFileTypes {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// propertySetOf returns the set name of a properties resource: the name
// without an optional ".properties" suffix.
func propertySetOf(name string) string { return strings.TrimSuffix(name, bundle.PropertySetSuffix) }

// validateResourceFile checks a resource file's name and, for property
// sets, its syntax.
func validateResourceFile(typ, name string, content []byte) error {
	if err := checkResourceFileType(typ); err != nil {
		return err
	}
	if err := checkName("resource file", name, resourceFileNameRE); err != nil {
		return err
	}
	if typ != "properties" {
		return nil
	}
	if _, err := bundle.PropertySetName(propertySetOf(name) + bundle.PropertySetSuffix); err != nil {
		return apierr.InvalidArgument("Invalid property set resource name %q: %v.", name, err)
	}
	if _, err := bundle.ParseProperties(content); err != nil {
		return apierr.InvalidArgument("Resource file %s of type properties is not a valid properties file: %v.", name, err)
	}
	return nil
}

// readResourceFileBody extracts the file from the forms clients send: the
// first multipart part named "file" or carrying a file name, or the body.
func readResourceFileBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	u, err := readUpload(w, r, maxResourceFileBody, false)
	if err != nil {
		return nil, err
	}
	if !u.multipart() {
		return u.data, nil
	}
	var content []byte
	var found bool
	var names []string
	err = u.eachPart(func(p *multipart.Part) (bool, error) {
		if p.FormName() == "file" || p.FileName() != "" {
			var err error
			found = true
			content, err = readPart(p)
			return true, err
		}
		names = append(names, p.FormName())
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	if found {
		return content, nil
	}
	return nil, apierr.InvalidArgument("The multipart body has no \"file\" part (found %q).", names)
}

func resourceFileViewOf(rf *state.ResourceFile) resourceFileView {
	return resourceFileView{Type: rf.Type, Name: rf.Name}
}

// listResourceFiles serves GET …/resourcefiles (optionally ?type=) and
// GET …/resourcefiles/{type}.
func (a *API) listResourceFiles(w http.ResponseWriter, r *http.Request) error {
	typ := r.PathValue("type")
	if typ == "" {
		typ = r.URL.Query().Get("type")
	}
	if typ != "" {
		if err := checkResourceFileType(typ); err != nil {
			return err
		}
	}
	v := resourceFilesView{ResourceFile: []resourceFileView{}}
	err := a.viewEnv(r, func(_ *state.Org, e *state.Environment) error {
		for _, rf := range e.ResourceFiles {
			if typ == "" || rf.Type == typ {
				v.ResourceFile = append(v.ResourceFile, resourceFileViewOf(rf))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(v.ResourceFile, func(i, j int) bool {
		a, b := v.ResourceFile[i], v.ResourceFile[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return a.Name < b.Name
	})
	return ok(w, v)
}

// getResourceFile serves GET …/resourcefiles/{type}/{name}: the file
// itself (an HttpBody response). Google's Go client asks with alt=json and
// decodes the google.api.HttpBody JSON form, so that is what it gets.
func (a *API) getResourceFile(w http.ResponseWriter, r *http.Request) error {
	typ, name := r.PathValue("type"), r.PathValue("name")
	if err := checkResourceFileType(typ); err != nil {
		return err
	}
	var content []byte
	err := a.viewEnv(r, func(_ *state.Org, e *state.Environment) error {
		rf := e.ResourceFiles[state.ResourceFileKey(typ, name)]
		if rf == nil {
			return apierr.NotFound("Resource file %s of type %s not found in environment %s.", name, typ, e.Name)
		}
		content = rf.Content
		return nil
	})
	if err != nil {
		return err
	}
	if r.URL.Query().Get("alt") == "json" {
		return ok(w, httpBody{ContentType: resourceFileContentType, Data: base64.StdEncoding.EncodeToString(content)})
	}
	w.Header().Set("Content-Type", resourceFileContentType)
	_, _ = w.Write(content)
	return nil
}

func (a *API) createResourceFile(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	return a.putResourceFile(w, r, q.Get("type"), q.Get("name"), true)
}

func (a *API) updateResourceFile(w http.ResponseWriter, r *http.Request) error {
	return a.putResourceFile(w, r, r.PathValue("type"), r.PathValue("name"), false)
}

func (a *API) putResourceFile(w http.ResponseWriter, r *http.Request, typ, name string, create bool) error {
	if err := checkResourceFileType(typ); err != nil {
		return err
	}
	if err := checkName("resource file", name, resourceFileNameRE); err != nil {
		return err
	}
	content, err := readResourceFileBody(w, r)
	if err != nil {
		return err
	}
	if err := validateResourceFile(typ, name, content); err != nil {
		return err
	}
	var v resourceFileView
	err = a.mutateEnv(r, func(tx *state.Tx, _ *state.Org, e *state.Environment) error {
		key := state.ResourceFileKey(typ, name)
		old := e.ResourceFiles[key]
		switch {
		case create && old != nil:
			return apierr.AlreadyExists("Resource file %s of type %s already exists in environment %s.", name, typ, e.Name)
		case !create && old == nil:
			return apierr.NotFound("Resource file %s of type %s not found in environment %s.", name, typ, e.Name)
		}
		if typ == "properties" {
			// "myProps" and "myProps.properties" would be the same set.
			for _, other := range e.ResourceFiles {
				if other.Type == typ && other.Name != name && propertySetOf(other.Name) == propertySetOf(name) {
					return apierr.AlreadyExists("Property set %s already exists in environment %s as resource file %s.", propertySetOf(name), e.Name, other.Name)
				}
			}
		}
		rf := &state.ResourceFile{Type: typ, Name: name, Content: content, CreatedAt: tx.Millis(), LastModifiedAt: tx.Millis()}
		if old != nil {
			rf.CreatedAt = old.CreatedAt
		}
		if e.ResourceFiles == nil {
			e.ResourceFiles = map[string]*state.ResourceFile{}
		}
		e.ResourceFiles[key] = rf
		v = resourceFileViewOf(rf)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

func (a *API) deleteResourceFile(w http.ResponseWriter, r *http.Request) error {
	typ, name := r.PathValue("type"), r.PathValue("name")
	if err := checkResourceFileType(typ); err != nil {
		return err
	}
	var v resourceFileView
	err := a.mutateEnv(r, func(_ *state.Tx, _ *state.Org, e *state.Environment) error {
		key := state.ResourceFileKey(typ, name)
		rf := e.ResourceFiles[key]
		if rf == nil {
			return apierr.NotFound("Resource file %s of type %s not found in environment %s.", name, typ, e.Name)
		}
		delete(e.ResourceFiles, key)
		v = resourceFileViewOf(rf)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

// envResourceFiles copies an environment's resource files into its
// runtime contract.
func envResourceFiles(c *contract.Contract, e *state.Environment) {
	for _, rf := range e.ResourceFiles {
		c.ResourceFiles = append(c.ResourceFiles, contract.ResourceFile{Type: rf.Type, Name: rf.Name, Content: rf.Content})
	}
}
