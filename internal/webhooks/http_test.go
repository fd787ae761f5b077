package webhooks_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/internal/webhooks"
	"huimin/server/servertest"
)

// The webhook routes through the real router (every exchange checked
// against docs/openapi.yaml), with the application's own delivery worker
// running on the harness clock.

// hook is a receiver that verifies every request and applies each delivery
// id once.
type hook struct {
	srv    *httptest.Server
	secret string
	now    func() time.Time
	fail   bool // answer 500

	mu      sync.Mutex
	ids     []string
	applied map[string]bool
	bad     []string
}

func newHook(t *testing.T, now func() time.Time) *hook {
	k := &hook{now: now, applied: map[string]bool{}}
	k.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		k.mu.Lock()
		defer k.mu.Unlock()
		id := r.Header.Get(webhooks.HeaderDelivery)
		k.ids = append(k.ids, id)
		if err := webhooks.Verify(k.secret, r.Header.Get(webhooks.HeaderTimestamp), r.Header.Get(webhooks.HeaderSignature), body, k.now(), 5*time.Minute); err != nil {
			k.bad = append(k.bad, err.Error())
		}
		if k.fail {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		k.applied[id] = true
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(k.srv.Close)
	t.Cleanup(func() {
		k.mu.Lock()
		defer k.mu.Unlock()
		require.Empty(t, k.bad, "requests that did not verify")
	})
	return k
}

func (k *hook) received() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.ids...)
}

// webhook is a Webhook answer.
type webhook struct {
	ID        string   `json:"id"`
	Org       string   `json:"org"`
	URL       string   `json:"url"`
	Events    []string `json:"events"`
	Secret    string   `json:"secret"`
	Active    bool     `json:"active"`
	CreatedBy string   `json:"created_by"`
	DeletedAt *string  `json:"deleted_at"`
}

type deliveryAnswer struct {
	ID             string  `json:"id"`
	WebhookID      string  `json:"webhook_id"`
	Event          string  `json:"event"`
	ClaimID        string  `json:"claim_id"`
	Status         string  `json:"status"`
	NextAttemptAt  *string `json:"next_attempt_at"`
	LastStatusCode *int    `json:"last_status_code"`
	LastError      *string `json:"last_error"`
	DeliveredAt    *string `json:"delivered_at"`
	Attempts       []struct {
		StatusCode *int    `json:"status_code"`
		Error      *string `json:"error"`
		Outcome    string  `json:"outcome"`
	} `json:"attempts"`
}

func register(t *testing.T, h *servertest.Harness, org, url string, events ...string) webhook {
	t.Helper()
	r := h.Post(t, "admin", "/api/v1/webhooks", map[string]any{"org": org, "url": url, "events": events})
	servertest.RequireStatus(t, r, http.StatusCreated)
	var w webhook
	r.JSON(t, &w)
	return w
}

// change stands in for a state change of a claim: the event enqueued in a
// transaction of its own, as claims and payouts do in theirs.
func change(t *testing.T, h *servertest.Harness, event, org, claimID string) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, h.DB.Tx(ctx, func(tx *gorm.DB) error {
		return h.App.Webhooks.Enqueue(ctx, tx, webhooks.Event{Type: event, Org: org, ClaimID: claimID, At: h.Clock.Now(),
			Claim: map[string]any{"id": claimID, "org": org, "status": "paid"}})
	}))
}

func deliveriesOf(t *testing.T, h *servertest.Harness, token, webhookID, query string) []deliveryAnswer {
	t.Helper()
	r := h.Get(t, token, "/api/v1/webhooks/"+webhookID+"/deliveries"+query)
	servertest.RequireStatus(t, r, http.StatusOK)
	var page struct{ Items []deliveryAnswer }
	r.JSON(t, &page)
	return page.Items
}

// await polls the deliveries until ok holds (the worker polls every
// second), failing after 10 seconds.
func await(t *testing.T, h *servertest.Harness, webhookID string, ok func([]deliveryAnswer) bool) []deliveryAnswer {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ds := deliveriesOf(t, h, "admin", webhookID, "")
		if ok(ds) {
			return ds
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deliveries never reached the expected state: %+v", ds)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRegisterListAndDeleteWebhooks(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		w := register(t, h, "picc", "https://hooks.picc.example/huimin", webhooks.ClaimPaid, webhooks.ClaimApproved)
		require.Equal(t, "picc", w.Org)
		require.Equal(t, []string{webhooks.ClaimApproved, webhooks.ClaimPaid}, w.Events, "in the order of a claim's life")
		require.True(t, strings.HasPrefix(w.Secret, "whsec_"), w.Secret)
		require.Len(t, w.Secret, len("whsec_")+43)
		require.True(t, w.Active)
		require.NotEmpty(t, w.CreatedBy)
		require.Nil(t, w.DeletedAt)
		other := register(t, h, "cpic", "http://10.0.0.7:8443/cb?x=1", webhooks.ClaimAssessed)
		require.NotEqual(t, w.Secret, other.Secret)

		list := func(token, query string) ([]webhook, string) {
			t.Helper()
			r := h.Get(t, token, "/api/v1/webhooks"+query)
			servertest.RequireStatus(t, r, http.StatusOK)
			require.NotContains(t, string(r.Body), "whsec_", "a list never shows a secret")
			var page struct {
				Items      []webhook
				NextCursor *string `json:"next_cursor"`
			}
			r.JSON(t, &page)
			next := ""
			if page.NextCursor != nil {
				next = *page.NextCursor
			}
			return page.Items, next
		}
		ids := func(ws []webhook) []string {
			var out []string
			for _, w := range ws {
				out = append(out, w.ID)
			}
			return out
		}
		all, _ := list("admin", "")
		require.Equal(t, []string{other.ID, w.ID}, ids(all), "newest first")
		page1, next := list("admin", "?limit=1")
		require.Equal(t, []string{other.ID}, ids(page1))
		require.NotEmpty(t, next)
		page2, next := list("admin", "?limit=1&cursor="+next)
		require.Equal(t, []string{w.ID}, ids(page2))
		require.Empty(t, next)
		byOrg, _ := list("admin", "?org=picc")
		require.Equal(t, []string{w.ID}, ids(byOrg))
		own, _ := list("insurer", "")
		require.Equal(t, []string{w.ID}, ids(own), "an insurer sees its own org's")
		theirs, _ := list("insurer", "?org=cpic")
		require.Empty(t, theirs, "and no other org's, whatever it asks")
		cpic, _ := list("insurer2", "")
		require.Equal(t, []string{other.ID}, ids(cpic))
		servertest.RequireError(t, h.Get(t, "admin", "/api/v1/webhooks?org=pi%20cc"), http.StatusUnprocessableEntity, "validation_failed")

		r := h.Do(t, servertest.Request{Method: http.MethodDelete, Path: "/api/v1/webhooks/" + w.ID, Token: "admin"})
		servertest.RequireStatus(t, r, http.StatusOK)
		var deleted webhook
		r.JSON(t, &deleted)
		require.False(t, deleted.Active)
		require.NotNil(t, deleted.DeletedAt)
		require.Empty(t, deleted.Secret)
		h.Clock.Advance(time.Hour)
		r = h.Do(t, servertest.Request{Method: http.MethodDelete, Path: "/api/v1/webhooks/" + w.ID, Token: "admin"})
		servertest.RequireStatus(t, r, http.StatusOK)
		var again webhook
		r.JSON(t, &again)
		require.Equal(t, *deleted.DeletedAt, *again.DeletedAt, "deleting again answers the first deletion")
		for _, id := range []string{"01ARZ3NDEKTSV4RRFFQ69G5FAV", "nope", strings.ToLower(w.ID)} {
			servertest.RequireError(t, h.Do(t, servertest.Request{Method: http.MethodDelete, Path: "/api/v1/webhooks/" + id, Token: "admin"}),
				http.StatusNotFound, "not_found")
		}
		all, _ = list("admin", "")
		require.Len(t, all, 2, "a deleted webhook stays listed")

		// Events of a deleted webhook are no longer written.
		change(t, h, webhooks.ClaimPaid, "picc", "01ARZ3NDEKTSV4RRFFQ69G5FAW")
		require.Zero(t, servertest.Count(t, d, "webhook_deliveries", "1 = 1"))

		for action, n := range map[string]int{"webhook.create": 2, "webhook.delete": 2} {
			r := h.Get(t, "auditor", "/api/v1/audit?action="+action)
			servertest.RequireStatus(t, r, http.StatusOK)
			require.Len(t, r.Map(t)["items"], n, action)
		}
	})
}

// TestWebhookInputIsChecked: every bad field is named, with its list index,
// and nothing is stored.
func TestWebhookInputIsChecked(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		good := func() map[string]any {
			return map[string]any{"org": "picc", "url": "https://hooks.picc.example/huimin", "events": []string{"claim.paid"}}
		}
		with := func(k string, v any) map[string]any {
			b := good()
			b[k] = v
			return b
		}
		cases := map[string]struct {
			body   any
			fields []string
		}{
			"nothing":              {map[string]any{}, []string{"org", "url", "events"}},
			"ftp":                  {with("url", "ftp://files.example/in"), []string{"url"}},
			"no scheme":            {with("url", "hooks.picc.example/huimin"), []string{"url"}},
			"no host":              {with("url", "https:///huimin"), []string{"url"}},
			"a relative path":      {with("url", "/huimin"), []string{"url"}},
			"credentials":          {with("url", "https://user:pw@hooks.picc.example/"), []string{"url"}},
			"port 0":               {with("url", "https://hooks.picc.example:0/"), []string{"url"}},
			"port 65536":           {with("url", "https://hooks.picc.example:65536/"), []string{"url"}},
			"a fragment":           {with("url", "https://hooks.picc.example/#top"), []string{"url"}},
			"a leading space":      {with("url", " https://hooks.picc.example/"), []string{"url"}},
			"a line break":         {with("url", "https://hooks.picc.example/\n"), []string{"url"}},
			"only whitespace":      {with("url", "   "), []string{"url"}},
			"too long":             {with("url", "https://h.example/"+strings.Repeat("a", 2000)), []string{"url"}},
			"a bad org":            {with("org", "pi cc"), []string{"org"}},
			"a long org":           {with("org", strings.Repeat("p", 65)), []string{"org"}},
			"no events":            {with("events", []string{}), []string{"events"}},
			"events not a list":    {with("events", "claim.paid"), []string{"events"}},
			"an unknown event":     {with("events", []string{"claim.paid", "claim.exploded"}), []string{"events[1]"}},
			"an event twice":       {with("events", []string{"claim.paid", "claim.declined", "claim.paid"}), []string{"events[2]"}},
			"an event not text":    {with("events", []any{"claim.paid", 7}), []string{"events[1]"}},
			"a secret of its own":  {with("secret", "whsec_mine"), []string{"secret"}},
			"several at once":      {map[string]any{"org": "", "url": "mailto:a@b.example", "events": []string{"x"}}, []string{"org", "url", "events[0]"}},
			"a case-changed event": {with("events", []string{"Claim.Paid"}), []string{"events[0]"}},
		}
		for name, tc := range cases {
			t.Run(name, func(t *testing.T) {
				r := h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/webhooks", Token: "admin", Body: tc.body, NoCheck: true})
				e := servertest.RequireError(t, r, http.StatusUnprocessableEntity, "validation_failed")
				require.ElementsMatch(t, tc.fields, e.FieldNames(), "%s", r.Body)
				require.Zero(t, servertest.Count(t, d, "webhook_subscriptions", "1 = 1"), "nothing stored")
			})
		}
		servertest.RequireError(t, h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/webhooks", Token: "admin", Body: `{"org":`, NoCheck: true}),
			http.StatusBadRequest, "bad_request")

		// At most 10 active webhooks per org; a deleted one frees its place.
		var first webhook
		for i := range 10 {
			w := register(t, h, "picc", "https://hooks.picc.example/"+string(rune('a'+i)), "claim.paid")
			if i == 0 {
				first = w
			}
		}
		servertest.RequireError(t, h.Post(t, "admin", "/api/v1/webhooks", good()), http.StatusConflict, "conflict")
		register(t, h, "cpic", "https://hooks.cpic.example/", "claim.paid")
		servertest.RequireStatus(t, h.Do(t, servertest.Request{Method: http.MethodDelete, Path: "/api/v1/webhooks/" + first.ID, Token: "admin"}), http.StatusOK)
		register(t, h, "picc", "https://hooks.picc.example/again", "claim.paid")
	})
}

// TestDeliveriesAreVisibleAndReplayable: the application's own worker
// delivers a change; the delivery and its attempt are listed for the admin
// and the org's insurer (another org's insurer gets 404); a replay reaches
// the receiver again under the same id, which its deduplication absorbs; a
// failing receiver's delivery waits for its backoff, its error shown.
func TestDeliveriesAreVisibleAndReplayable(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		k := newHook(t, h.Clock.Now)
		w := register(t, h, "picc", k.srv.URL+"/huimin", webhooks.ClaimPaid)
		k.secret = w.Secret
		change(t, h, webhooks.ClaimPaid, "picc", "01ARZ3NDEKTSV4RRFFQ69G5FAW")
		change(t, h, webhooks.ClaimPaid, "cpic", "01ARZ3NDEKTSV4RRFFQ69G5FAX") // another org: not for this webhook

		ds := await(t, h, w.ID, func(ds []deliveryAnswer) bool { return len(ds) == 1 && ds[0].Status == "delivered" })
		dl := ds[0]
		require.Equal(t, w.ID, dl.WebhookID)
		require.Equal(t, webhooks.ClaimPaid, dl.Event)
		require.Equal(t, "01ARZ3NDEKTSV4RRFFQ69G5FAW", dl.ClaimID)
		require.Nil(t, dl.NextAttemptAt)
		require.Nil(t, dl.LastError)
		require.Equal(t, 200, *dl.LastStatusCode)
		require.NotNil(t, dl.DeliveredAt)
		require.Len(t, dl.Attempts, 1)
		require.Equal(t, "delivered", dl.Attempts[0].Outcome)
		require.Equal(t, 200, *dl.Attempts[0].StatusCode)
		require.Equal(t, []string{dl.ID}, k.received())

		require.Equal(t, ds, deliveriesOf(t, h, "insurer", w.ID, ""), "the org's insurer sees the same")
		servertest.RequireError(t, h.Get(t, "insurer2", "/api/v1/webhooks/"+w.ID+"/deliveries"), http.StatusNotFound, "not_found")
		require.Empty(t, deliveriesOf(t, h, "admin", w.ID, "?status=failed"))
		require.Len(t, deliveriesOf(t, h, "admin", w.ID, "?status=delivered"), 1)
		servertest.RequireError(t, h.Get(t, "admin", "/api/v1/webhooks/"+w.ID+"/deliveries?status=lost"), http.StatusUnprocessableEntity, "validation_failed")
		servertest.RequireError(t, h.Get(t, "admin", "/api/v1/webhooks/01ARZ3NDEKTSV4RRFFQ69G5FAV/deliveries"), http.StatusNotFound, "not_found")

		replay := "/api/v1/webhook-deliveries/" + dl.ID + "/replay"
		e := servertest.RequireError(t, h.Do(t, servertest.Request{Method: http.MethodPost, Path: replay, Token: "admin", Body: `{"now":true}`, NoCheck: true}),
			http.StatusUnprocessableEntity, "validation_failed")
		require.Equal(t, []string{"now"}, e.FieldNames())
		r := h.Do(t, servertest.Request{Method: http.MethodPost, Path: replay, Token: "admin"})
		servertest.RequireStatus(t, r, http.StatusOK)
		var replayed deliveryAnswer
		r.JSON(t, &replayed)
		require.Equal(t, dl.ID, replayed.ID)
		require.Equal(t, "pending", replayed.Status)
		require.NotNil(t, replayed.NextAttemptAt)
		await(t, h, w.ID, func(ds []deliveryAnswer) bool {
			return len(ds) == 1 && len(ds[0].Attempts) == 2 && ds[0].Status == "delivered"
		})
		require.Equal(t, []string{dl.ID, dl.ID}, k.received(), "the same delivery id again")
		k.mu.Lock()
		require.Len(t, k.applied, 1, "applied once by the receiver's deduplication")
		k.mu.Unlock()
		servertest.RequireError(t, h.Post(t, "admin", "/api/v1/webhook-deliveries/01ARZ3NDEKTSV4RRFFQ69G5FAV/replay", map[string]any{}), http.StatusNotFound, "not_found")
		r = h.Get(t, "auditor", "/api/v1/audit?action=webhook.replay")
		servertest.RequireStatus(t, r, http.StatusOK)
		require.Len(t, r.Map(t)["items"], 1)

		// A failing receiver: one attempt, then a wait of 10 s ± 20 %.
		down := newHook(t, h.Clock.Now)
		down.fail = true
		w2 := register(t, h, "picc", down.srv.URL, webhooks.ClaimPaymentFailed)
		down.secret = w2.Secret
		change(t, h, webhooks.ClaimPaymentFailed, "picc", "01ARZ3NDEKTSV4RRFFQ69G5FAY")
		ds = await(t, h, w2.ID, func(ds []deliveryAnswer) bool { return len(ds) == 1 && len(ds[0].Attempts) == 1 })
		require.Equal(t, "pending", ds[0].Status)
		require.NotNil(t, ds[0].LastStatusCode, "the attempt got no answer: %+v", ds[0])
		require.Equal(t, 500, *ds[0].LastStatusCode)
		require.Equal(t, "HTTP 500 Internal Server Error", *ds[0].LastError)
		require.Equal(t, "failed", ds[0].Attempts[0].Outcome)
		next, err := time.Parse(time.RFC3339, *ds[0].NextAttemptAt)
		require.NoError(t, err)
		wait := next.Sub(h.Clock.Now())
		require.True(t, wait >= 8*time.Second && wait <= 12*time.Second, "the first retry waits 10 s ± 20 %%, not %s", wait)
		time.Sleep(1500 * time.Millisecond)
		require.Len(t, down.received(), 1, "not retried before its time")

		// Deleting the webhook fails its pending delivery, unsent; it can
		// no longer be replayed.
		servertest.RequireStatus(t, h.Do(t, servertest.Request{Method: http.MethodDelete, Path: "/api/v1/webhooks/" + w2.ID, Token: "admin"}), http.StatusOK)
		h.Clock.Advance(time.Minute)
		ds = await(t, h, w2.ID, func(ds []deliveryAnswer) bool { return ds[0].Status == "failed" })
		require.Contains(t, *ds[0].LastError, "deleted")
		require.Len(t, down.received(), 1)
		servertest.RequireError(t, h.Post(t, "admin", "/api/v1/webhook-deliveries/"+ds[0].ID+"/replay", map[string]any{}), http.StatusConflict, "invalid_state")

		var stored struct{ Payload string }
		require.NoError(t, d.Table("webhook_deliveries").Select("payload").Where("id = ?", dl.ID).Take(&stored).Error)
		var p webhooks.Payload
		require.NoError(t, json.Unmarshal([]byte(stored.Payload), &p))
		require.Equal(t, dl.ID, p.ID)
		require.Equal(t, "2026-06-15T02:00:00.000Z", p.OccurredAt)
	})
}
