package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/server/servertest"
)

func TestErrorContract(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		cases := []struct {
			name   string
			req    servertest.Request
			status int
			code   string
		}{
			{"unknown route is a 404 envelope", servertest.Request{Method: "GET", Path: "/api/v1/nowhere", Token: "admin"}, 404, "not_found"},
			{"unknown route outside the API", servertest.Request{Method: "GET", Path: "/nope"}, 404, "not_found"},
			{"wrong method is a 405 envelope", servertest.Request{Method: "DELETE", Path: "/healthz"}, 405, "method_not_allowed"},
			{"wrong method on an API route", servertest.Request{Method: "PUT", Path: "/api/v1/tokens", Token: "admin"}, 405, "method_not_allowed"},
			{"no token", servertest.Request{Method: "GET", Path: "/api/v1/tokens"}, 401, "unauthorized"},
			{"unknown token", servertest.Request{Method: "GET", Path: "/api/v1/tokens", Token: "hm_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, 401, "unauthorized"},
			{"not a bearer token", servertest.Request{Method: "GET", Path: "/api/v1/tokens", Header: map[string]string{"Authorization": "Basic YWRtaW46YWRtaW4="}}, 401, "unauthorized"},
			{"token without our prefix", servertest.Request{Method: "GET", Path: "/api/v1/tokens", Header: map[string]string{"Authorization": "Bearer abc"}}, 401, "unauthorized"},
			{"finance may not manage tokens", servertest.Request{Method: "GET", Path: "/api/v1/tokens", Token: "finance"}, 403, "forbidden"},
			{"insurer may not create tokens", servertest.Request{Method: "POST", Path: "/api/v1/tokens", Token: "insurer", Body: map[string]string{"role": "admin", "name": "x"}}, 403, "forbidden"},
			{"malformed JSON", servertest.Request{Method: "POST", Path: "/api/v1/tokens", Token: "admin", Body: `{"role":`}, 400, "bad_request"},
			{"JSON that is not an object", servertest.Request{Method: "POST", Path: "/api/v1/tokens", Token: "admin", Body: `[1,2]`}, 400, "bad_request"},
			{"trailing garbage after the object", servertest.Request{Method: "POST", Path: "/api/v1/tokens", Token: "admin", Body: `{"role":"admin","name":"a"} x`}, 400, "bad_request"},
			{"oversize body", servertest.Request{Method: "POST", Path: "/api/v1/tokens", Token: "admin", Body: `{"name":"` + strings.Repeat("a", 1<<20) + `"}`}, 413, "payload_too_large"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				servertest.RequireError(t, h.Do(t, tc.req), tc.status, tc.code)
			})
		}
	})
}

func TestTokenValidationNamesEveryField(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		r := h.Post(t, "admin", "/api/v1/tokens", map[string]any{"role": "root", "name": "has space", "org": "x"})
		e := servertest.RequireError(t, r, 422, "validation_failed")
		require.ElementsMatch(t, []string{"role", "name"}, e.FieldNames())

		r = h.Post(t, "admin", "/api/v1/tokens", map[string]any{"role": "insurer", "name": "ins"})
		e = servertest.RequireError(t, r, 422, "validation_failed")
		require.Equal(t, []string{"org"}, e.FieldNames(), "an insurer token needs an org")

		r = h.Post(t, "admin", "/api/v1/tokens", map[string]any{"role": "finance", "name": "fin", "org": "picc"})
		e = servertest.RequireError(t, r, 422, "validation_failed")
		require.Equal(t, []string{"org"}, e.FieldNames(), "only insurers belong to an org")

		r = h.Post(t, "admin", "/api/v1/tokens", map[string]any{"role": "finance", "name": "fin", "extra": true})
		e = servertest.RequireError(t, r, 422, "validation_failed")
		require.Equal(t, []string{"extra"}, e.FieldNames())

		r = h.Post(t, "admin", "/api/v1/tokens", map[string]any{"role": 7, "name": "fin"})
		e = servertest.RequireError(t, r, 422, "validation_failed")
		require.Equal(t, []string{"role"}, e.FieldNames())
	})
}

func TestTokenLifecycle(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		r := h.Post(t, "admin", "/api/v1/tokens", map[string]any{"role": "auditor", "name": "aud-sun"})
		servertest.RequireStatus(t, r, http.StatusCreated)
		var created struct {
			ID, Token, Role, Name string
			Org                   *string
		}
		r.JSON(t, &created)
		require.True(t, strings.HasPrefix(created.Token, "hm_"))
		require.GreaterOrEqual(t, len(created.Token), 3+43, "at least 32 random bytes")
		require.Equal(t, "auditor", created.Role)
		require.Nil(t, created.Org)

		// The new token works at once, for its role only.
		servertest.RequireStatus(t, h.Get(t, created.Token, "/api/v1/tokens"), http.StatusForbidden)

		// Listed without the raw value.
		r = h.Get(t, "admin", "/api/v1/tokens?limit=500")
		servertest.RequireStatus(t, r, http.StatusOK)
		require.Contains(t, string(r.Body), created.ID)
		require.NotContains(t, string(r.Body), created.Token)

		// The database holds only a hash.
		var stored string
		require.NoError(t, d.Raw("SELECT hash FROM tokens WHERE id = ?", created.ID).Scan(&stored).Error)
		require.Len(t, stored, 64)
		require.NotContains(t, stored, created.Token)

		// Revoked: fails on the very next request; revoking twice is harmless.
		r = h.Do(t, servertest.Request{Method: "DELETE", Path: "/api/v1/tokens/" + created.ID, Token: "admin"})
		servertest.RequireStatus(t, r, http.StatusOK)
		require.NotNil(t, r.Map(t)["revoked_at"])
		servertest.RequireError(t, h.Get(t, created.Token, "/api/v1/programmes"), 401, "unauthorized")
		servertest.RequireStatus(t, h.Do(t, servertest.Request{Method: "DELETE", Path: "/api/v1/tokens/" + created.ID, Token: "admin"}), http.StatusOK)

		servertest.RequireError(t, h.Do(t, servertest.Request{Method: "DELETE", Path: "/api/v1/tokens/01ARZ3NDEKTSV4RRFFQ69G5FAV", Token: "admin"}), 404, "not_found")

		// Every token change is in the audit log.
		var n int64
		require.NoError(t, d.Raw("SELECT COUNT(*) FROM audit_log WHERE action IN ('token.create','token.revoke') AND target = ?", created.ID).Scan(&n).Error)
		require.EqualValues(t, 3, n, "create, revoke, revoke again")
	})
}

func TestTokenListPaginates(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		seen := map[string]bool{}
		path := "/api/v1/tokens?limit=2"
		for pages := 0; ; pages++ {
			require.Less(t, pages, 10)
			r := h.Get(t, "admin", path)
			servertest.RequireStatus(t, r, http.StatusOK)
			var page struct {
				Items      []struct{ ID string }
				NextCursor *string `json:"next_cursor"`
			}
			r.JSON(t, &page)
			for _, it := range page.Items {
				require.False(t, seen[it.ID], "no token twice")
				seen[it.ID] = true
			}
			if page.NextCursor == nil {
				break
			}
			path = "/api/v1/tokens?limit=2&cursor=" + *page.NextCursor
		}
		require.Len(t, seen, 6, "admin plus the five role tokens")
		servertest.RequireError(t, h.Get(t, "admin", "/api/v1/tokens?limit=0"), 422, "validation_failed")
		servertest.RequireError(t, h.Get(t, "admin", "/api/v1/tokens?cursor=@@@"), 422, "validation_failed")
		servertest.RequireError(t, h.Get(t, "admin", "/api/v1/tokens?cursor=bm90YWN1cnNvcv8"), 422, "validation_failed")
	})
}

func TestOperationalEndpoints(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		servertest.RequireStatus(t, h.Get(t, "", "/healthz"), 200)
		servertest.RequireStatus(t, h.Get(t, "", "/readyz"), 200)
		r := h.Get(t, "", "/openapi.yaml")
		servertest.RequireStatus(t, r, 200)
		require.Contains(t, string(r.Body), "openapi: 3")
		r = h.Get(t, "", "/metrics")
		servertest.RequireStatus(t, r, 200)
		require.Contains(t, string(r.Body), "huimin_http_requests_total")

		// The client's request id is echoed in the header and the envelope.
		r = h.Do(t, servertest.Request{Method: "GET", Path: "/api/v1/tokens", Header: map[string]string{"X-Request-ID": "req-42"}})
		e := servertest.RequireError(t, r, 401, "unauthorized")
		require.Equal(t, "req-42", e.RequestID)

		// An unreachable database makes /readyz fail with 503.
		require.NoError(t, d.Close())
		servertest.RequireError(t, h.Get(t, "", "/readyz"), 503, "unavailable")
	})
}
