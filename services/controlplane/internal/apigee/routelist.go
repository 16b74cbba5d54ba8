package apigee

import (
	"net/http"
	"slices"
	"strings"
)

// RouteKind says who answers a route.
type RouteKind string

// Route kinds.
const (
	// RouteAPI is answered by the control plane itself.
	RouteAPI RouteKind = "api"
	// RouteMART is authorized here and forwarded to MART (MountMART);
	// MART's own routes decide whether it is served.
	RouteMART RouteKind = "mart"
	// RouteConnect is Apigee Connect's REST ListConnections
	// (MountConnections).
	RouteConnect RouteKind = "connect"
	// RouteBeside is served beside the API on the same listener (IAM,
	// Resource Manager, the token endpoint: AlsoRoutes); its handler
	// authenticates and authorizes by itself.
	RouteBeside RouteKind = "beside"
)

// Route is one endpoint: a method, a pattern path ({name} is one segment,
// {name...} the rest of the path, {$} the end after a trailing slash: the
// net/http pattern syntax the docs and the beside routes use), and the IAM
// permission checked on the resource the path names ("" when the handler
// checks its own).
type Route struct {
	Method     string
	Path       string
	Permission string
	Kind       RouteKind
}

// Routes lists every route registered so far, in registration order.
func (a *API) Routes() []Route { return slices.Clone(a.routeList) }

// addRoute records a route registered with pattern "METHOD /path".
func (a *API) addRoute(pattern, permission string, kind RouteKind) {
	method, path, found := strings.Cut(pattern, " ")
	if !found {
		method, path = "", pattern
	}
	a.routeList = append(a.routeList, Route{Method: method, Path: path, Permission: permission, Kind: kind})
}

// markRoutes sets the kind of the routes recorded from index from on.
func (a *API) markRoutes(from int, kind RouteKind) {
	for i := from; i < len(a.routeList); i++ {
		a.routeList[i].Kind = kind
	}
}

// route registers h for pattern ("METHOD /path" in Route's syntax; no
// method: all of them).
func (a *API) route(pattern string, h http.Handler) { a.router.Handle(pattern, h) }
