package apigee

import (
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
)

// Labels of API proxies follow Google Cloud's label rules: at most 64; keys
// 1–63 lower-case letters, digits, '_' or '-', starting with a letter;
// values up to 63 of the same characters (international letters are
// allowed too).
var (
	labelKeyRE   = regexp.MustCompile(`^\p{Ll}[\p{Ll}\p{Lo}\p{N}_-]{0,62}$`)
	labelValueRE = regexp.MustCompile(`^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$`)
)

const maxLabels = 64

func checkLabels(labels map[string]string) error {
	if len(labels) > maxLabels {
		return apierr.InvalidField("labels", "An API proxy can have at most %d labels; got %d.", maxLabels, len(labels))
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !labelKeyRE.MatchString(k) {
			return apierr.InvalidField("labels", "Label key %q is invalid: keys are 1-63 lower-case letters, digits, underscores or dashes and start with a lower-case letter.", k)
		}
		if !labelValueRE.MatchString(labels[k]) {
			return apierr.InvalidField("labels", "Label value %q of key %q is invalid: values are at most 63 lower-case letters, digits, underscores or dashes.", labels[k], k)
		}
	}
	return nil
}

// patchAPI serves PATCH …/apis/{name}?updateMask=labels (apis.patch):
// labels is the only field of an API proxy a client may change; the labels
// sent replace the old ones.
func (a *API) patchAPI(w http.ResponseWriter, r *http.Request) error {
	mask := r.URL.Query().Get("updateMask")
	if strings.TrimSpace(mask) == "" {
		return apierr.InvalidField("update_mask", "updateMask is required; the field that can be updated is labels.")
	}
	for _, f := range strings.Split(mask, ",") {
		if f = strings.TrimSpace(f); f != "labels" {
			return apierr.InvalidField("update_mask", "updateMask field %q cannot be changed; only labels can.", f)
		}
	}
	var in struct {
		Labels map[string]string `json:"labels"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if err := checkLabels(in.Labels); err != nil {
		return err
	}
	var v apiView
	err := a.mutateOrg(r, func(tx *state.Tx, o *state.Org) error {
		api, err := lookupAPI(o, proxies, r.PathValue("name"))
		if err != nil {
			return err
		}
		api.Labels = in.Labels
		if len(api.Labels) == 0 {
			api.Labels = nil
		}
		api.LastModifiedAt = tx.Millis()
		v = apiViewOf(api)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

// listOptions are apis.list's includeRevisions and includeMetaData; absent,
// both are included.
type listOptions struct{ revisions, metaData bool }

func apiListOptions(r *http.Request) (listOptions, error) {
	opts := listOptions{revisions: true, metaData: true}
	for _, p := range []struct {
		name string
		dst  *bool
	}{{"includeRevisions", &opts.revisions}, {"includeMetaData", &opts.metaData}} {
		if r.URL.Query().Get(p.name) == "" {
			continue
		}
		b, err := boolParam(r, p.name)
		if err != nil {
			return opts, err
		}
		*p.dst = b
	}
	return opts, nil
}

func (o listOptions) apply(v apiView) apiView {
	if !o.revisions {
		v.Revision = nil
	}
	if !o.metaData {
		v.MetaData = nil
	}
	return v
}
