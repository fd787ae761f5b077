package prevention_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/simplifiedchinese"

	"huimin/internal/db"
	"huimin/prevention"
	"huimin/server/servertest"
)

// env is one application under test with the helpers the prevention tests
// share.
type env struct {
	h *servertest.Harness
	d *db.DB
}

func newEnv(t testing.TB, d *db.DB) *env {
	t.Helper()
	return &env{h: servertest.New(t, d), d: d}
}

// settlement is one row of a settlement record file, amounts as written.
type settlement struct {
	id, settled, hospital, service, bill               string
	total, scope, basic, critical, assistance, selfPay string
}

func (s settlement) line() string {
	return strings.Join([]string{s.id, s.settled, s.hospital, s.service, s.bill, s.total, s.scope, s.basic, s.critical, s.assistance, s.selfPay}, ",")
}

// csvOf is a settlement file: the header and a line per row.
func csvOf(rows ...settlement) string {
	var b strings.Builder
	b.WriteString(prevention.RecordsCSVHeader + "\r\n")
	for _, r := range rows {
		b.WriteString(r.line() + "\r\n")
	}
	return b.String()
}

// gbk encodes text as Excel in China saves a CSV.
func gbk(t testing.TB, text string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(text))
	require.NoError(t, err)
	return b
}

// importResult is the answer of the settlement import.
type importResult struct {
	Created    int `json:"created"`
	Duplicates int `json:"duplicates"`
	Unmatched  int `json:"unmatched"`
	Errors     []struct {
		Line    int    `json:"line"`
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

// importRecords posts a settlement file as the administrator with the
// content type given ("" for text/csv without a charset, which is then
// detected) and requires 200.
func (e *env) importRecords(t testing.TB, body []byte, contentType string) importResult {
	t.Helper()
	r := e.h.Do(t, e.importRequest(body, contentType))
	servertest.RequireStatus(t, r, http.StatusOK)
	var ans importResult
	r.JSON(t, &ans)
	return ans
}

func (e *env) importRequest(body []byte, contentType string) servertest.Request {
	if contentType == "" {
		contentType = "text/csv"
	}
	return servertest.Request{Method: http.MethodPost, Path: "/api/v1/medical-records/import", Token: "admin", Body: body,
		Header: map[string]string{"Content-Type": contentType}}
}

// warning is a warning as the API answers it.
type warning struct {
	ID              string   `json:"id"`
	Plan            string   `json:"plan"`
	HouseholdID     *string  `json:"household_id"`
	CountyCode      string   `json:"county_code"`
	BeneficiaryIDs  []string `json:"beneficiary_ids"`
	Bills           []string `json:"bills"`
	ExpectedPayable string   `json:"expected_payable"`
	Status          string   `json:"status"`
	Details         []struct {
		RecordID        string `json:"record_id"`
		BeneficiaryID   string `json:"beneficiary_id"`
		BillRef         string `json:"bill_ref"`
		SettledOn       string `json:"settled_on"`
		Hospital        string `json:"hospital"`
		ExpectedPayable string `json:"expected_payable"`
	} `json:"bill_details"`
	Followups []struct {
		Status string `json:"status"`
		Note   string `json:"note"`
		Actor  string `json:"actor"`
		At     string `json:"at"`
	} `json:"followups"`
}

// warnings lists every warning of plan as token (paging through).
func (e *env) warnings(t testing.TB, token, plan string) []warning {
	t.Helper()
	var out []warning
	cursor := ""
	for {
		path := "/api/v1/warnings?plan=" + plan + "&limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		r := e.h.Get(t, token, path)
		servertest.RequireStatus(t, r, http.StatusOK)
		var page struct {
			Items      []warning `json:"items"`
			NextCursor *string   `json:"next_cursor"`
		}
		r.JSON(t, &page)
		out = append(out, page.Items...)
		if page.NextCursor == nil {
			return out
		}
		cursor = *page.NextCursor
	}
}

// warningOf returns the listed warning naming beneficiary, failing when
// there is none.
func warningOf(t testing.TB, ws []warning, beneficiary string) warning {
	t.Helper()
	for _, w := range ws {
		for _, b := range w.BeneficiaryIDs {
			if b == beneficiary {
				return w
			}
		}
	}
	t.Fatalf("no warning names %s among %d", beneficiary, len(ws))
	return warning{}
}

// hasWarning reports a listed warning naming beneficiary.
func hasWarning(ws []warning, beneficiary string) bool {
	for _, w := range ws {
		for _, b := range w.BeneficiaryIDs {
			if b == beneficiary {
				return true
			}
		}
	}
	return false
}

// fileDraft fetches a warning's claim draft as the insurer, completes what
// the visit supplies (the household income, the evidence hashes), files it
// as one claim batch and returns each claim's status and payable.
func (e *env) fileDraft(t testing.TB, warningID, income string) (statuses, payables []string) {
	t.Helper()
	r := e.h.Get(t, "insurer", "/api/v1/warnings/"+warningID+"/claim-draft")
	servertest.RequireStatus(t, r, http.StatusOK)
	var draft struct {
		Claims []map[string]any `json:"claims"`
	}
	r.JSON(t, &draft)
	require.NotEmpty(t, draft.Claims)
	for i, c := range draft.Claims {
		require.True(t, strings.HasPrefix(c["external_ref"].(string), "warning:"+warningID+":"), "claim %d links back to the warning: %v", i, c["external_ref"])
		facts := c["facts"].(map[string]any)
		if _, ok := facts["household_income_per_capita"]; ok {
			require.Nil(t, facts["household_income_per_capita"], "the income is left for the visit")
			facts["household_income_per_capita"] = income
		}
		for j, ev := range c["evidence"].([]any) {
			m := ev.(map[string]any)
			require.Equal(t, "", m["sha256"], "evidence hashes are left for the insurer")
			m["sha256"] = servertest.SHA(fmt.Sprint(warningID, i, j))
		}
	}
	rb := e.h.Post(t, "insurer", "/api/v1/claim-batches", draft)
	servertest.RequireStatus(t, rb, http.StatusOK)
	var ans struct {
		Results []struct {
			Status      string  `json:"status"`
			ClaimStatus string  `json:"claim_status"`
			Payable     *string `json:"payable"`
			Error       any     `json:"error"`
		} `json:"results"`
	}
	rb.JSON(t, &ans)
	for _, res := range ans.Results {
		require.Equal(t, "created", res.Status, "body: %s", rb.Body)
		statuses = append(statuses, res.ClaimStatus)
		payables = append(payables, *res.Payable)
	}
	return statuses, payables
}

// setStatus records a follow-up as token.
func (e *env) setStatus(t testing.TB, token, id, status, note string) *servertest.Response {
	t.Helper()
	return e.h.Post(t, token, "/api/v1/warnings/"+id+"/status", map[string]any{"status": status, "note": note})
}

// createPlan creates a plan as the administrator and requires 201.
func (e *env) createPlan(t testing.TB, code, programme string, rules any) {
	t.Helper()
	body := map[string]any{"code": code, "programme": programme, "name": "测算计划 " + code, "coverage_start": "2026-01-01",
		"coverage_end": "2026-12-31", "budget": "100000000.00"}
	if rules != nil {
		body["rules"] = rules
	}
	servertest.RequireStatus(t, e.h.Post(t, "admin", "/api/v1/plans", body), http.StatusCreated)
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
