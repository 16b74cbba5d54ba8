package apigee

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
)

// Request bodies that carry an uploaded file (alias material, resource
// files), in the forms clients send them: multipart/form-data (REST docs,
// apigeecli, curl -F), Google's Go client's JSON google.api.HttpBody whose
// data is the real body, or the raw body.

// upload is a request body with a JSON HttpBody wrapping taken off: the
// real body and its media type.
type upload struct {
	data      []byte
	mediaType string
	params    map[string]string
}

// readUpload reads an upload of at most limit bytes and unwraps a JSON
// google.api.HttpBody. A body without a content type is taken for JSON when
// sniffJSON is set and it starts with "{".
func readUpload(w http.ResponseWriter, r *http.Request, limit int64, sniffJSON bool) (*upload, error) {
	data, err := readBody(w, r, limit)
	if err != nil {
		return nil, err
	}
	mediaType, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType == "application/json" || sniffJSON && mediaType == "" && bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		var probe map[string]json.RawMessage
		if json.Unmarshal(data, &probe) == nil {
			if _, wrapped := probe["data"]; wrapped {
				var hb httpBody
				if err := json.Unmarshal(data, &hb); err != nil {
					return nil, apierr.InvalidArgument("The JSON body is not a google.api.HttpBody: %v", err)
				}
				if data, err = decodeBase64(hb.Data); err != nil {
					return nil, apierr.InvalidArgument("HttpBody data is not valid base64: %v", err)
				}
				mediaType, params, _ = mime.ParseMediaType(hb.ContentType)
			}
		}
	}
	return &upload{data: data, mediaType: mediaType, params: params}, nil
}

func (u *upload) multipart() bool { return strings.HasPrefix(u.mediaType, "multipart/") }

// eachPart calls fn on the parts of a multipart upload, in order, until fn
// reports done.
func (u *upload) eachPart(fn func(p *multipart.Part) (done bool, err error)) error {
	boundary := u.params["boundary"]
	if boundary == "" {
		return apierr.InvalidArgument("Malformed multipart body: the content type names no boundary.")
	}
	mr := multipart.NewReader(bytes.NewReader(u.data), boundary)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return apierr.InvalidArgument("Malformed multipart body: %v", err)
		}
		if done, err := fn(part); done || err != nil {
			return err
		}
	}
}

func readPart(p *multipart.Part) ([]byte, error) {
	v, err := io.ReadAll(p)
	if err != nil {
		return nil, apierr.InvalidArgument("Malformed multipart body: %v", err)
	}
	return v, nil
}

// maxAliasBody bounds an alias upload: PEM or PKCS#12 material is small.
const maxAliasBody = 1 << 20

// aliasBody is an alias upload: multipart parts by name, or the raw body.
type aliasBody struct {
	multipart bool
	parts     map[string]string
	raw       []byte
}

func (b *aliasBody) names() string {
	if len(b.parts) == 0 {
		return "no parts"
	}
	var out []string
	for n := range b.parts {
		out = append(out, strconv.Quote(n))
	}
	sort.Strings(out)
	return "parts " + strings.Join(out, ", ")
}

// readAliasBody reads an alias upload: a multipart body's parts (the first
// of a name wins), or the raw body — with an HttpBody's data, the JSON spec
// of a self-signed certificate.
func readAliasBody(w http.ResponseWriter, r *http.Request) (*aliasBody, error) {
	u, err := readUpload(w, r, maxAliasBody, true)
	if err != nil {
		return nil, err
	}
	b := &aliasBody{raw: u.data}
	if !u.multipart() {
		return b, nil
	}
	b.multipart, b.parts = true, map[string]string{}
	err = u.eachPart(func(p *multipart.Part) (bool, error) {
		v, err := readPart(p)
		if err != nil {
			return false, err
		}
		if _, dup := b.parts[p.FormName()]; !dup {
			b.parts[p.FormName()] = string(v)
		}
		return false, nil
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
