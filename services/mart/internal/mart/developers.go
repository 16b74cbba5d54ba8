package mart

import (
	"net/http"
	"strings"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/pkg/store"
)

// listDevelopers: GET …/developers?count&startKey&expand&ids&app. Without
// expand each developer is just {"email"}; startKey (an email or developer
// id) is inclusive, as in Apigee.
func (a *API) listDevelopers(w http.ResponseWriter, r *http.Request) error {
	expand, err := boolParam(r, "expand")
	if err != nil {
		return err
	}
	count, err := intParam(r, "count", 1000, 1000)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var devs []*store.Developer
	switch {
	case q.Get("ids") != "":
		devs, err = a.kms.DevelopersByID(r.Context(), a.org, strings.Split(q.Get("ids"), ","))
	case q.Get("app") != "":
		name := q.Get("app")
		var apps []*store.App
		apps, _, err = a.kms.ListOrgApps(r.Context(), a.org, store.OrgAppsQuery{Match: func(ap *store.App) bool { return ap.Name == name }})
		if err == nil {
			var ids []string
			for _, ap := range apps {
				ids = append(ids, ap.DeveloperID)
			}
			devs, err = a.kms.DevelopersByID(r.Context(), a.org, ids)
		}
	default:
		devs, err = a.kms.ListDevelopers(r.Context(), a.org, store.Page{StartKey: q.Get("startKey"), Count: count})
	}
	if err != nil {
		return err
	}
	out := make([]developerOut, 0, len(devs))
	for _, d := range devs {
		if expand {
			out = append(out, a.developerOut(d))
		} else {
			out = append(out, developerOut{Email: d.Email})
		}
	}
	return ok(w, map[string]any{"developer": out})
}

func (a *API) createDeveloper(w http.ResponseWriter, r *http.Request) error {
	var in developerIn
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	d, err := a.kms.CreateDeveloper(r.Context(), a.org, store.Developer{
		Email: in.Email, FirstName: in.FirstName, LastName: in.LastName, UserName: in.UserName, Attributes: in.Attributes,
	})
	if err != nil {
		return err
	}
	return created(w, a.developerOut(d))
}

func (a *API) getDeveloper(w http.ResponseWriter, r *http.Request) error {
	d, err := a.kms.GetDeveloper(r.Context(), a.org, r.PathValue("developer"))
	if err != nil {
		return err
	}
	return ok(w, a.developerOut(d))
}

// updateDeveloper: PUT replaces names and attributes; the email stays.
func (a *API) updateDeveloper(w http.ResponseWriter, r *http.Request) error {
	var in developerIn
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	cur, err := a.kms.GetDeveloper(r.Context(), a.org, r.PathValue("developer"))
	if err != nil {
		return err
	}
	if in.Email == "" {
		in.Email = cur.Email
	}
	if err := in.check(); err != nil {
		return err
	}
	d, err := a.kms.UpdateDeveloper(r.Context(), a.org, cur.Email, store.Developer{
		Email: in.Email, FirstName: in.FirstName, LastName: in.LastName, UserName: in.UserName, Attributes: in.Attributes,
	})
	if err != nil {
		return err
	}
	return ok(w, a.developerOut(d))
}

func (a *API) deleteDeveloper(w http.ResponseWriter, r *http.Request) error {
	d, err := a.kms.DeleteDeveloper(r.Context(), a.org, r.PathValue("developer"))
	if err != nil {
		return err
	}
	return ok(w, a.developerOut(d))
}

// setDeveloperStatus: POST …/developers/{d}?action=active|inactive → 204.
func (a *API) setDeveloperStatus(w http.ResponseWriter, r *http.Request) error {
	action := r.URL.Query().Get("action")
	if action != store.StatusActive && action != store.StatusInactive {
		return apierr.InvalidArgument("Query parameter action must be active or inactive, got %q.", action)
	}
	if err := a.kms.SetDeveloperStatus(r.Context(), a.org, r.PathValue("developer"), action); err != nil {
		return err
	}
	return noContent(w)
}
