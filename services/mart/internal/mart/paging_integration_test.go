//go:build integration

package mart_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apigee "google.golang.org/api/apigee/v1"

	"github.com/hybrid-emulator/hybrid/pkg/store"
)

// Google's Go client walks a 2,500-app list page by page with its Pages
// helper (pageSize/pageToken/nextPageToken): every app exactly once, pages
// no larger than asked, the last page without a token.
func TestGoClientPagesWalkEveryApp(t *testing.T) {
	m := startMART(t, true)
	const n = 2500
	_, err := m.kms.CreateDeveloper(m.ctx, m.org, store.Developer{Email: "many@example.com", FirstName: "M", LastName: "A", UserName: "many"})
	require.NoError(t, err)
	// Seeded straight into Cassandra (what MART itself writes), in parallel.
	start := time.Now()
	ids := make(chan string, n)
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				app, err := m.kms.CreateApp(m.ctx, m.org, "many@example.com", store.NewApp{Name: fmt.Sprintf("app-%04d", i)})
				if !assertNoError(t, err) {
					return
				}
				ids <- app.AppID
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	close(ids)
	want := map[string]bool{}
	for id := range ids {
		want[id] = true
	}
	require.Len(t, want, n)
	t.Logf("seeded %d apps in %v", n, time.Since(start))

	for _, size := range []int64{1000, 333} {
		seen := map[string]bool{}
		pages := 0
		err := m.api.Organizations.Apps.List(m.parent()).PageSize(size).Pages(m.ctx, func(r *apigee.GoogleCloudApigeeV1ListAppsResponse) error {
			pages++
			require.LessOrEqual(t, int64(len(r.App)), size)
			for _, a := range r.App {
				require.False(t, seen[a.AppId], "app %s listed twice", a.AppId)
				seen[a.AppId] = true
			}
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, want, seen, "page size %d", size)
		require.Equal(t, int((n+size-1)/size), pages, "page size %d", size)
	}

	// AIP-158: a size over the maximum is coerced to it; a size that is not
	// a positive integer or a token MART did not hand out is a 400, never a
	// silent first page.
	status, body := m.do(m.http, http.MethodGet, m.orgPath("/apps?pageSize=5000"), nil)
	require.Equal(t, http.StatusOK, status)
	var page struct {
		App           []map[string]any `json:"app"`
		NextPageToken string           `json:"nextPageToken"`
	}
	require.NoError(t, json.Unmarshal(body, &page))
	require.Len(t, page.App, 1000)
	require.NotEmpty(t, page.NextPageToken)
	for _, q := range []string{"pageSize=-1", "pageSize=x", "pageToken=not-a-token", "pageToken=%00"} {
		status, body := m.do(m.http, http.MethodGet, m.orgPath("/apps?"+q), nil)
		require.Equal(t, http.StatusBadRequest, status, "%s: %.200s", q, body)
	}
}

func assertNoError(t *testing.T, err error) bool {
	t.Helper()
	if err != nil {
		t.Error(err)
		return false
	}
	return true
}
