// Package bundle parses and validates Apigee API proxy bundles (root folder
// apiproxy/) and shared flow bundles (root folder sharedflowbundle/).
//
// The mock control plane calls Parse on import and answers 400 with the
// error's message when it fails; the message processor compiles the returned
// Bundle. Parse either returns a Bundle in which every reference has been
// checked, or nil and a *ValidationError naming the offending zip entry and
// wrapping one of the sentinel errors (ErrNotZip, ErrTooLarge, ErrZipBomb,
// ErrZipSlip, ErrMalformedXML, ErrMissingReference, ErrInvalidBundle). Files
// are checked in name order, so the same bad bundle always gives the same
// (first) error.
//
// # Archive safety
//
// The archive size is checked before it is opened. Every entry name is
// checked whether or not the entry is used: absolute names, ".." segments,
// backslashes, drive letters, NUL and other control characters, names
// that are not UTF-8 (tools read such bytes as CP437, Latin-1, …) and
// non-canonical names ("a//b", "./a") are ErrZipSlip; so are symbolic links.
// Other special files, encrypted entries, compression methods other than
// store/deflate, duplicate names and names that differ only in case (one
// would overwrite the other on a case-insensitive file system) are
// ErrInvalidBundle; the message names the entry. The entry count,
// each entry's declared size, the sum of declared sizes and the compression
// ratio (per entry and for the whole archive, above RatioFloorBytes) are
// checked against Limits before anything is decompressed; entries are then
// read into buffers of exactly their declared size, and an entry that holds
// more data than it declares is ErrZipBomb (less data, or a bad checksum, is
// ErrNotZip). Memory use is thus bounded by Limits.MaxUncompressedBytes
// whatever the headers say.
//
// # Layout
//
//   - Everything must be under the root folder of the expected kind. A bundle
//     of the other kind, or a root folder nested inside another folder, gets a
//     message saying so.
//   - Ignored anywhere: __MACOSX/ at the top, any file or folder whose name
//     starts with "." (.DS_Store, ._x, .git/ …), Thumbs.db and desktop.ini.
//     Directory entries are ignored too (after their names are checked).
//   - Exactly one XML file at the top of the root: the manifest (<APIProxy> or
//     <SharedFlowBundle>). Real Apigee requires it, so a missing or second one
//     is an error. Other top-level files (README.md …) are ignored.
//   - proxies/, targets/ (API proxies only), sharedflows/ (shared flows only)
//     and policies/ may only hold *.xml files, directly.
//   - resources/<type>/<path> becomes the resource "<type>://<path>"; any type
//     is accepted. A file directly in resources/ is an error.
//   - Other folders (manifests/, integration-endpoints/, tests/ …) are not
//     runtime configuration and are ignored.
//
// # XML
//
// Files must be well-formed (ErrMalformedXML with the line number), have one
// root element, no DOCTYPE, and nest at most 256 elements deep. UTF-8 (with
// or without BOM), UTF-16 with a BOM, ISO-8859-1, Windows-1252 and US-ASCII
// are accepted; non-UTF-8 files are converted, and Policy.XML always holds
// UTF-8. Element order does not matter and unknown elements are ignored, as
// in Apigee. Text and attribute values are trimmed. Boolean and numeric
// elements must parse (the message names the element and line).
//
// # Content rules
//
//   - Proxy endpoints, target endpoints, shared flows and policies need a
//     name attribute that is unique in the bundle; the file name need not
//     match it. The manifest's lists are kept as declared but not checked
//     (Apigee regenerates them).
//   - An API proxy needs at least one ProxyEndpoint; a shared flow bundle at
//     least one SharedFlow.
//   - A BasePath must start with "/"; a missing one means "/". A
//     PostClientFlow may only have Response steps.
//   - A target endpoint has exactly one of HTTPTargetConnection and
//     LocalTargetConnection; an HTTPTargetConnection exactly one of URL and
//     LoadBalancer (with at least one named Server); a LocalTargetConnection
//     either APIProxy (+ optional ProxyEndpoint) or Path. Literal target URLs
//     must be absolute http(s) URLs; URLs with flow variables ("{…}") are not
//     checked. A RouteRule has at most one of TargetEndpoint and URL.
//   - Every Step (flows, fault rules, default fault rule, shared flows) must
//     name a policy of the bundle; every RouteRule TargetEndpoint a target
//     endpoint of the bundle (ErrMissingReference).
//   - The <ResourceURL>, <IncludeURL> and <OASResource> children of a policy's
//     root element must have the form type://file and name a resource of the
//     bundle (ErrMissingReference) unless they contain a flow variable, or
//     Options.ResourceExists accepts them (environment-level resources).
//     Deeper elements (e.g. inside an AssignMessage payload) are not
//     references.
//   - Property sets: every file in <root>/resources/properties/ must be
//     <set>.properties directly in that folder and parse as a Java
//     properties file (ParseProperties); a malformed one is
//     ErrInvalidBundle naming the file and line. Bundle.PropertySets holds
//     them parsed. Whether a policy's propertyset.<set>.<key> references
//     exist is the runtime's business (environment-scoped sets count too).
//   - Not checked here: conditions (see the condition package), policy
//     contents beyond the common attributes, references to other proxies,
//     shared flows (FlowCallout) or target servers, which live outside the
//     bundle.
package bundle
