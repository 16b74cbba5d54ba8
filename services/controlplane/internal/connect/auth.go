package connect

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/apigee"
)

// Authorizer decides whether the caller of an RPC — named by the bearer
// token in the incoming gRPC metadata ("authorization") — holds permission
// (e.g. apigeeconnect.endpoints.connect) on resource
// (//apigeeconnect.googleapis.com/projects/{p}/endpoints/APIGEE_MART).
//
// A gRPC status error is passed to the caller as is; any other error is a
// refusal and becomes PermissionDenied with the real service's text.
type Authorizer interface {
	Authorize(ctx context.Context, permission, resource string) error
}

// PrincipalNamer is implemented by Authorizers that can name the caller for
// the audit log.
type PrincipalNamer interface {
	PrincipalName(ctx context.Context) string
}

// TokenAuthorizer checks callers with the Apigee API's authenticator and
// authorizer, so the same tokens work on both APIs.
type TokenAuthorizer struct {
	Auth apigee.Authenticator
	// Authz defaults to allowing every authenticated principal.
	Authz apigee.Authorizer
}

// Authorize implements Authorizer.
func (t TokenAuthorizer) Authorize(ctx context.Context, permission, resource string) error {
	p, err := t.principal(ctx)
	if err != nil {
		return err
	}
	if t.Authz == nil {
		return nil
	}
	return t.Authz.Authorize(ctx, p, permission, resource)
}

// PrincipalName implements PrincipalNamer.
func (t TokenAuthorizer) PrincipalName(ctx context.Context) string {
	p, err := t.principal(ctx)
	if err != nil {
		return ""
	}
	return p.Name
}

// principal authenticates the metadata's bearer token through the HTTP
// authenticator, which only reads the Authorization header.
func (t TokenAuthorizer) principal(ctx context.Context) (apigee.Principal, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, "/", nil)
	if err != nil {
		return apigee.Principal{}, status.Error(codes.Internal, err.Error())
	}
	if v := md.Get("authorization"); len(v) > 0 {
		r.Header.Set("Authorization", v[0])
	}
	p, err := t.Auth.Authenticate(r)
	if err != nil {
		msg := apigee.MsgInvalidCredential
		if len(md.Get("authorization")) == 0 {
			msg = apigee.MsgMissingCredential
		}
		var ae *apierr.Error
		if errors.As(err, &ae) && ae.Code == http.StatusUnauthorized {
			msg = ae.Message
		}
		return apigee.Principal{}, status.Error(codes.Unauthenticated, msg)
	}
	return p, nil
}

type allowAll struct{}

func (allowAll) Authorize(context.Context, string, string) error { return nil }

// authorize checks the caller and writes the audit line. It returns a gRPC
// status error.
func (s *Service) authorize(ctx context.Context, logType, method, permission, resource string) error {
	err := s.opts.Authorizer.Authorize(ctx, permission, resource)
	principal := ""
	if pn, ok := s.opts.Authorizer.(PrincipalNamer); ok {
		principal = pn.PrincipalName(ctx)
	}
	if err != nil {
		if st, ok := status.FromError(err); !ok || st.Code() == codes.Unknown {
			// Not a gRPC status (an IAM refusal): the real service's text,
			// the reason only in our own log.
			s.log.Info("permission denied", zap.String("permission", permission),
				zap.String("resource", resource), zap.String("principal", principal), zap.Error(err))
			err = PermissionDeniedError(resource)
		}
	}
	if s.opts.AuthorizerAudits {
		return err
	}
	fields := []zap.Field{
		zap.String("logType", logType),
		zap.String("serviceName", "apigeeconnect.googleapis.com"),
		zap.String("methodName", method),
		zap.String("principal", principal),
		zap.String("resource", resource),
		zap.String("permission", permission),
		zap.Bool("granted", err == nil),
	}
	if err != nil {
		fields = append(fields, zap.String("status", status.Code(err).String()))
	}
	s.audit.Info("audit", fields...)
	return err
}

// httpStatusOf maps a gRPC status to the REST error model.
func httpStatusOf(err error) *apierr.Error {
	st := status.Convert(err)
	code := http.StatusInternalServerError
	switch st.Code() {
	case codes.InvalidArgument:
		code = http.StatusBadRequest
	case codes.Unauthenticated:
		code = http.StatusUnauthorized
	case codes.PermissionDenied:
		code = http.StatusForbidden
	case codes.NotFound:
		code = http.StatusNotFound
	case codes.Unavailable:
		code = http.StatusServiceUnavailable
	}
	name := strings.ToUpper(strings.ReplaceAll(camelToSnake(st.Code().String()), " ", "_"))
	return &apierr.Error{Code: code, Status: name, Message: st.Message()}
}

// camelToSnake turns "InvalidArgument" into "Invalid_Argument".
func camelToSnake(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return b.String()
}
