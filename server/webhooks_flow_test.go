package server_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/server/servertest"
)

// receiver records the webhook deliveries it is sent, once per delivery id
// (a receiver that deduplicates, as the README tells integrators to).
type receiver struct {
	mu     sync.Mutex
	secret string
	seen   map[string]bool
	events []received
	bad    []string
}

type received struct {
	Event   string
	ClaimID string
	Status  string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	ts, _ := strconv.ParseInt(r.Header.Get("Huimin-Timestamp"), 10, 64)
	m := hmac.New(sha256.New, []byte(rc.secret))
	m.Write([]byte(strconv.FormatInt(ts, 10) + "."))
	m.Write(body)
	if r.Header.Get("Huimin-Signature") != "v1="+hex.EncodeToString(m.Sum(nil)) {
		rc.bad = append(rc.bad, "bad signature on "+r.Header.Get("Huimin-Delivery"))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var p struct {
		ID    string `json:"id"`
		Event string `json:"event"`
		Claim struct {
			ID     string `json:"id"`
			Org    string `json:"org"`
			Status string `json:"status"`
		} `json:"claim"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.ID != r.Header.Get("Huimin-Delivery") || p.Claim.Org != "picc" {
		rc.bad = append(rc.bad, "bad payload: "+string(body))
	}
	if !rc.seen[p.ID] {
		rc.seen[p.ID] = true
		rc.events = append(rc.events, received{p.Event, p.Claim.ID, p.Claim.Status})
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) got() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := append([]received(nil), rc.events...)
	sort.Slice(out, func(i, j int) bool { return out[i].Event+out[i].ClaimID < out[j].Event+out[j].ClaimID })
	return out
}

// TestWebhooksFollowTheClaimPath: an insurer's receiver is told of every
// change of its claims — filed (assessed or rejected), approved, declined,
// a payment returned by the bank and a payment made — each once, signed,
// carrying the claim as the API answers it after the change; another
// insurer's claims are not sent to it.
func TestWebhooksFollowTheClaimPath(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		rc := &receiver{seen: map[string]bool{}}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		var sub struct {
			Secret string `json:"secret"`
		}
		r := h.Post(t, "admin", "/api/v1/webhooks", map[string]any{"org": "picc", "url": srv.URL,
			"events": []string{"claim.assessed", "claim.rejected", "claim.approved", "claim.declined", "claim.paid", "claim.payment_failed"}})
		servertest.RequireStatus(t, r, http.StatusCreated)
		r.JSON(t, &sub)
		rc.mu.Lock()
		rc.secret = sub.Secret
		rc.mu.Unlock()

		paid := servertest.Person{ID: servertest.ResidentID(501), Categories: []string{"rural_destitute"}, Payout: "6217991234567890123"}
		declined := servertest.Person{ID: servertest.ResidentID(502), Categories: []string{"illness_poverty"}}
		ineligible := servertest.Person{ID: servertest.ResidentID(503), Categories: []string{"agri_operator"}}
		for _, p := range []servertest.Person{paid, declined, ineligible} {
			servertest.RequireStatus(t, h.PutPerson(t, p), http.StatusCreated)
		}
		file := func(token, who, bill string) string {
			var c struct {
				ID string `json:"id"`
			}
			r := h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/claims", Token: token,
				Header: map[string]string{"Idempotency-Key": servertest.Unique("k")},
				Body: map[string]any{"plan": "ZKB-2026", "external_ref": servertest.Unique("ref"), "beneficiary_id": who,
					"event_date": "2026-05-10", "cause": "medical",
					"facts": map[string]any{"service_type": "inpatient", "bill_ref": bill, "total_cost": "20000.00",
						"policy_scope_cost": "18000.00", "basic_insurance_paid": "9000.00", "critical_illness_paid": "0", "medical_assistance_paid": "0"},
					"evidence": []map[string]any{{"kind": "settlement_sheet", "sha256": servertest.SHA(bill)}}}})
			servertest.RequireStatus(t, r, http.StatusCreated)
			r.JSON(t, &c)
			return c.ID
		}
		toPay := file("insurer", paid.ID, "B-1")
		toDecline := file("insurer", declined.ID, "B-2")
		rejected := file("insurer", ineligible.ID, "B-3")
		file("insurer2", paid.ID, "B-4") // cpic's claims: not sent to picc's receiver
		withdrawn := file("insurer2", declined.ID, "B-5")
		servertest.RequireStatus(t, h.Post(t, "insurer2", "/api/v1/claims/"+withdrawn+"/withdraw", map[string]any{}), http.StatusOK)

		servertest.RequireStatus(t, h.Post(t, "finance", "/api/v1/claims/"+toPay+"/approve", map[string]any{}), http.StatusOK)
		servertest.RequireStatus(t, h.Post(t, "finance", "/api/v1/claims/"+toDecline+"/decline", map[string]any{"reason": "发票不符"}), http.StatusOK)
		var objection struct {
			ID string `json:"id"`
		}
		r = h.Post(t, "finance", "/api/v1/claims/"+toPay+"/objections", map[string]any{"raised_by": "村民 王某", "reason": "反映家庭收入较高"})
		servertest.RequireStatus(t, r, http.StatusCreated)
		r.JSON(t, &objection)
		servertest.RequireStatus(t, h.Post(t, "finance", "/api/v1/objections/"+objection.ID+"/resolve",
			map[string]any{"outcome": "dismissed", "note": "经核实不属实"}), http.StatusOK)
		pay := func(outcome string) {
			var b struct {
				ID string `json:"id"`
			}
			r := h.Post(t, "finance", "/api/v1/disbursements", map[string]any{"plan": "ZKB-2026", "claim_ids": []string{toPay}})
			servertest.RequireStatus(t, r, http.StatusCreated)
			r.JSON(t, &b)
			servertest.RequireStatus(t, h.Post(t, "finance", "/api/v1/disbursements/"+b.ID+"/results",
				map[string]any{"results": []map[string]any{{"claim_id": toPay, "outcome": outcome, "bank_reference": "NX-1", "reason": "账户已销户"}}}), http.StatusOK)
		}
		pay("failed")
		pay("paid")

		want := []received{
			{"claim.approved", toPay, "approved"},
			{"claim.assessed", toDecline, "assessed"},
			{"claim.assessed", toPay, "assessed"},
			{"claim.declined", toDecline, "declined"},
			{"claim.paid", toPay, "paid"},
			{"claim.payment_failed", toPay, "approved"},
			{"claim.rejected", rejected, "rejected"},
		}
		sort.Slice(want, func(i, j int) bool { return want[i].Event+want[i].ClaimID < want[j].Event+want[j].ClaimID })
		deadline := time.Now().Add(15 * time.Second)
		for len(rc.got()) < len(want) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond) // nothing more arrives
		require.Equal(t, want, rc.got())
		rc.mu.Lock()
		require.Empty(t, rc.bad)
		rc.mu.Unlock()

		// The same transitions, counted once each for the operator.
		metrics := string(h.Get(t, "", "/metrics").Body)
		for transition, n := range map[string]int{
			"approved": 1, "declined": 1, "disbursed": 2, "payment_failed": 1, "paid": 1, "withdrawn": 1, "objection_dismissed": 1,
		} {
			require.Contains(t, metrics, fmt.Sprintf("huimin_claim_transitions_total{plan=\"ZKB-2026\",transition=\"%s\"} %d\n", transition, n))
		}
	})
}
