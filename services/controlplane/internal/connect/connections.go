package connect

import (
	"context"
	"encoding/base64"
	"net/http"
	"sort"
	"strconv"
	"strings"

	pb "cloud.google.com/go/apigeeconnect/apiv1/apigeeconnectpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
)

// Paging limits of ListConnections.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// ListConnections implements pb.ConnectionServiceServer: each cluster with
// streams open for the endpoint, sorted by cluster name and region.
func (s *Service) ListConnections(ctx context.Context, req *pb.ListConnectionsRequest) (*pb.ListConnectionsResponse, error) {
	ep, err := parseParent(req.GetParent())
	if err != nil {
		return nil, err
	}
	resource := "//apigeeconnect.googleapis.com/" + req.GetParent()
	if err := s.authorize(ctx, "DATA_READ", MethodListConnections, PermListConnections, resource); err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	switch {
	case size < 0:
		return nil, status.Errorf(codes.InvalidArgument, "page_size must not be negative, got %d", size)
	case size == 0:
		size = defaultPageSize
	case size > maxPageSize:
		size = maxPageSize
	}
	var after *Cluster
	if tok := req.GetPageToken(); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		name, region, ok := strings.Cut(string(raw), "\x00")
		if err != nil || !ok {
			return nil, status.Errorf(codes.InvalidArgument, "invalid page_token %q", tok)
		}
		after = &Cluster{Name: name, Region: region}
	}

	clusters := s.clusterCounts(ep)
	out := &pb.ListConnectionsResponse{}
	for _, cc := range clusters {
		if after != nil && !clusterLess(*after, cc.Cluster) {
			continue
		}
		if len(out.Connections) == size {
			last := out.Connections[len(out.Connections)-1].GetCluster()
			out.NextPageToken = base64.RawURLEncoding.EncodeToString([]byte(last.GetName() + "\x00" + last.GetRegion()))
			break
		}
		out.Connections = append(out.Connections, &pb.Connection{
			Endpoint:    req.GetParent(),
			Cluster:     &pb.Cluster{Name: cc.Name, Region: cc.Region},
			StreamCount: int32(cc.n),
		})
	}
	return out, nil
}

type clusterCount struct {
	Cluster
	n int
}

func clusterLess(a, b Cluster) bool {
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	return a.Region < b.Region
}

// clusterCounts counts the endpoint's streams per cluster, sorted.
func (s *Service) clusterCounts(ep endpointKey) []clusterCount {
	s.mu.Lock()
	counts := map[Cluster]int{}
	for _, st := range s.streams[ep] {
		counts[st.cluster]++
	}
	s.mu.Unlock()
	out := make([]clusterCount, 0, len(counts))
	for c, n := range counts {
		out = append(out, clusterCount{c, n})
	}
	sort.Slice(out, func(i, j int) bool { return clusterLess(out[i].Cluster, out[j].Cluster) })
	return out
}

// ConnectionsHandler serves the REST form of ListConnections,
// GET /v1/projects/{project}/endpoints/{endpoint}/connections?pageSize=&pageToken=,
// with the JSON field names of the real API. The caller's Authorization
// header is checked by the same Authorizer as the gRPC call.
func (s *Service) ConnectionsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		project, endpoint := r.PathValue("project"), r.PathValue("endpoint")
		if project == "" || endpoint == "" {
			parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
			if len(parts) == 6 {
				project, endpoint = parts[2], parts[4]
			}
		}
		req := &pb.ListConnectionsRequest{
			Parent:    "projects/" + project + "/endpoints/" + endpoint,
			PageToken: r.URL.Query().Get("pageToken"),
		}
		if v := r.URL.Query().Get("pageSize"); v != "" {
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil {
				apierr.Write(w, apierr.InvalidArgument("Invalid value at 'page_size' (TYPE_INT32), %q", v))
				return
			}
			req.PageSize = int32(n)
		}
		md := metadata.MD{}
		if a := r.Header.Get("Authorization"); a != "" {
			md.Set("authorization", a)
		}
		resp, err := s.ListConnections(metadata.NewIncomingContext(r.Context(), md), req)
		if err != nil {
			apierr.Write(w, httpStatusOf(err))
			return
		}
		data, err := protojson.Marshal(resp)
		if err != nil {
			apierr.Write(w, apierr.Internal("encode response: %v", err))
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		_, _ = w.Write(data)
	})
}
