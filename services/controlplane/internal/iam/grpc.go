package iam

import (
	"context"

	"google.golang.org/grpc/metadata"
)

// AuthenticateGRPC identifies the caller of a gRPC call from its
// "authorization: Bearer …" metadata (what oauth-based
// PerRPCCredentials send). Errors carry gRPC status Unauthenticated or
// PermissionDenied, so handlers can return them unchanged.
func (m *IAM) AuthenticateGRPC(ctx context.Context) (Principal, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if tok, ok := BearerToken(v); ok {
			// The only gRPC API served here is Apigee Connect.
			return m.AuthenticateTokenFor(tok, ApigeeConnectAudience)
		}
	}
	return Principal{}, unauthenticated(MsgMissingCredential)
}

type principalKey struct{}

// WithPrincipal stores the authenticated principal in ctx.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal WithPrincipal stored.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// GRPCAuthorizer adapts the IAM to the Apigee Connect service
// (internal/connect's Authorizer and PrincipalNamer): it authenticates the
// bearer token of the incoming gRPC metadata and authorizes it, recording
// the audit entry (DATA_WRITE Tether.Egress, DATA_READ
// ConnectionService.ListConnections). Its errors carry gRPC statuses
// (Unauthenticated; PermissionDenied with "Permission denied on resource
// '//apigeeconnect.googleapis.com/projects/p/endpoints/APIGEE_MART' (or it
// may not exist).").
type GRPCAuthorizer struct{ IAM *IAM }

// Authorize authenticates the caller and checks permission on resource.
func (g GRPCAuthorizer) Authorize(ctx context.Context, permission, resource string) error {
	p, err := g.IAM.AuthenticateGRPC(ctx)
	if err != nil {
		return err
	}
	return g.IAM.Enforce(ctx, p, Call{Permission: permission, Resource: resource})
}

// PrincipalName names the caller for logs ("" when unauthenticated).
func (g GRPCAuthorizer) PrincipalName(ctx context.Context) string {
	p, err := g.IAM.AuthenticateGRPC(ctx)
	if err != nil {
		return ""
	}
	return p.Name
}
