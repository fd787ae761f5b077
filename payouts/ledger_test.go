package payouts_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"
	"gorm.io/gorm"

	"huimin/internal/audit"
	"huimin/internal/auth"
	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/ledger"
	"huimin/payouts"
	"huimin/policies"
	"huimin/server/servertest"
)

// approveAll approves claims through the service as fin-wang.
func (e *env) approveAll(t testing.TB, ids ...string) {
	t.Helper()
	for _, id := range ids {
		_, err := e.svc.Approve(context.Background(), audit.Who{Actor: "fin-wang", Role: auth.Finance}, id)
		require.NoError(t, err)
	}
}

// ledgerPlan is a first_come plan whose ledger holds a fund entry and n
// reserve entries of 100.00 + i fen each.
func (e *env) ledgerPlan(t testing.TB, n int) (plan string, claimIDs []string) {
	t.Helper()
	plan = e.createPlan(t, planOpts{budget: "1000000.00"})
	for i := range n {
		id := e.insertAssessed(t, plan, 1, int64(10000+i))[0]
		e.approveAll(t, id)
		claimIDs = append(claimIDs, id)
	}
	return plan, claimIDs
}

type entryPage struct {
	Items      []ledger.EntryView `json:"items"`
	NextCursor *string            `json:"next_cursor"`
}

// walk reads every page of GET /api/v1/ledger?query&limit=limit.
func (e *env) walk(t testing.TB, query url.Values, limit int) (all []ledger.EntryView, pages int) {
	t.Helper()
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("limit", strconv.Itoa(limit))
	for {
		r := e.h.Get(t, "auditor", "/api/v1/ledger?"+q.Encode())
		servertest.RequireStatus(t, r, http.StatusOK)
		var p entryPage
		r.JSON(t, &p)
		pages++
		require.LessOrEqual(t, len(p.Items), limit)
		all = append(all, p.Items...)
		if p.NextCursor == nil {
			return all, pages
		}
		require.Len(t, p.Items, limit, "only the last page is short")
		q.Set("cursor", *p.NextCursor)
		require.Less(t, pages, 1000, "pagination does not end")
	}
}

var maskedID = regexp.MustCompile(`^411325\*{8}[0-9]{3}[0-9X]$`)

// The ledger list pages through a plan's entries, or every plan's, in
// (plan, seq) order without gaps or repeats, with beneficiary ids masked.
func TestLedgerList(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan, claimIDs := e.ledgerPlan(t, 11)
		other, _ := e.ledgerPlan(t, 3)

		t.Run("one plan, pages of 5", func(t *testing.T) {
			all, pages := e.walk(t, url.Values{"plan": {plan}}, 5)
			require.Equal(t, 3, pages)
			require.Len(t, all, 12)
			stored := e.entries(t, plan)
			for i, v := range all {
				en := stored[i]
				require.Equal(t, int64(i+1), v.Seq)
				require.Equal(t, plan, v.Plan)
				require.Equal(t, en.Hash, v.Hash)
				require.Equal(t, en.PrevHash, v.PrevHash)
				require.Equal(t, fmt.Sprintf("%d.%02d", en.Amount/100, en.Amount%100), v.Amount)
				require.Equal(t, time.UnixMilli(en.At).UTC().Format(ledger.TimeLayout), v.At)
				if v.Kind == "fund" {
					require.Empty(t, v.ClaimID)
					require.Empty(t, v.BeneficiaryID)
					continue
				}
				require.Equal(t, claimIDs[i-1], v.ClaimID)
				require.Regexp(t, maskedID, v.BeneficiaryID)
				require.Equal(t, policies.MaskID(en.BeneficiaryID), v.BeneficiaryID)
				require.Equal(t, en.BeneficiaryID[14:], v.BeneficiaryID[14:])
				require.Equal(t, "411325", v.CountyCode)
				require.Equal(t, "reserve", v.Kind)
				require.Equal(t, "available", v.FromAccount)
				require.Equal(t, "reserved", v.ToAccount)
				require.Equal(t, "fin-wang", v.Actor)
			}
		})

		t.Run("a page size that divides the total ends with an empty cursor", func(t *testing.T) {
			all, pages := e.walk(t, url.Values{"plan": {other}}, 2)
			require.Len(t, all, 4)
			require.LessOrEqual(t, pages, 3)
		})

		t.Run("every plan, pages of 3, in plan and seq order", func(t *testing.T) {
			var want []ledger.Entry
			require.NoError(t, d.Order("plan_code, seq").Find(&want).Error)
			require.Len(t, want, 4+12+4, "the seeded plans' fund entries and the two test plans' entries")
			all, _ := e.walk(t, nil, 3)
			require.Len(t, all, len(want))
			for i, v := range all {
				require.Equal(t, [2]any{want[i].PlanCode, want[i].Seq}, [2]any{v.Plan, v.Seq}, "item %d", i)
			}
		})

		t.Run("dates select by China day", func(t *testing.T) {
			e.h.Clock.Advance(24 * time.Hour) // 2026-06-16 in China
			e.approveAll(t, e.insertAssessed(t, plan, 2, 5000)...)
			all, _ := e.walk(t, url.Values{"plan": {plan}, "from": {"2026-06-16"}}, 100)
			require.Len(t, all, 2)
			require.Equal(t, int64(13), all[0].Seq)
			all, _ = e.walk(t, url.Values{"plan": {plan}, "to": {"2026-06-15"}}, 100)
			require.Len(t, all, 12)
			all, _ = e.walk(t, url.Values{"plan": {plan}, "from": {"2026-06-17"}}, 100)
			require.Empty(t, all)
		})

		t.Run("bad parameters are 422 naming them", func(t *testing.T) {
			for _, tc := range []struct{ query, field string }{
				{"limit=0", "limit"}, {"limit=1001", "limit"}, {"limit=ten", "limit"},
				{"cursor=%21%21", "cursor"}, {"from=2026-02-30", "from"}, {"to=yesterday", "to"},
			} {
				er := servertest.RequireError(t, e.h.Get(t, "auditor", "/api/v1/ledger?"+tc.query), http.StatusUnprocessableEntity, "validation_failed")
				require.Equal(t, []string{tc.field}, er.FieldNames(), tc.query)
			}
		})

		t.Run("insurers and admins cannot read the books", func(t *testing.T) {
			for _, token := range []string{"insurer", "admin"} {
				for _, path := range []string{"/api/v1/ledger", "/api/v1/ledger/export?plan=" + plan, "/api/v1/ledger/verify?plan=" + plan} {
					servertest.RequireError(t, e.h.Get(t, token, path), http.StatusForbidden, "forbidden")
				}
			}
			servertest.RequireStatus(t, e.h.Get(t, "finance", "/api/v1/ledger?plan="+plan), http.StatusOK)
		})
	})
}

// export downloads the ledger of plan in format as token.
func (e *env) export(t testing.TB, token, query string) *servertest.Response {
	t.Helper()
	r := e.h.Get(t, token, "/api/v1/ledger/export?"+query)
	servertest.RequireStatus(t, r, http.StatusOK)
	return r
}

const bom = "\ufeff"

// The three export formats carry the same rows in the columns of DESIGN §8;
// the CSV verifies offline; every download is on the audit log.
func TestLedgerExports(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		plan, _ := e.ledgerPlan(t, 6)
		c := e.assessed(t, plan, "8888.88")
		e.approved(t, c.ID)
		b := e.disbursed(t, plan, c.ID)
		servertest.RequireStatus(t, e.results(t, b.ID, failed(c.ID, "账户冻结")), http.StatusOK)
		stored := e.entries(t, plan)
		require.Len(t, stored, 10)
		header := strings.Join(ledger.Columns, ",")
		require.Equal(t, "seq,at,plan,kind,claim_id,beneficiary_id,county_code,amount,from_account,to_account,actor,prev_hash,hash", header)

		var csvRows [][]string
		t.Run("csv", func(t *testing.T) {
			r := e.export(t, "auditor", "plan="+plan+"&format=csv")
			require.Equal(t, "text/csv; charset=utf-8", r.Header.Get("Content-Type"))
			require.Contains(t, r.Header.Get("Content-Disposition"), "ledger-"+plan+".csv")
			require.True(t, bytes.HasPrefix(r.Body, []byte(bom)), "starts with the UTF-8 BOM")
			require.True(t, bytes.HasPrefix(r.Body[3:], []byte(header+"\r\n")), "RFC 4180 header line")
			var err error
			csvRows, err = csv.NewReader(bytes.NewReader(r.Body[3:])).ReadAll()
			require.NoError(t, err)
			require.Len(t, csvRows, 1+len(stored))
			for i, en := range stored {
				row := csvRows[i+1]
				require.Equal(t, strconv.FormatInt(en.Seq, 10), row[0])
				require.Equal(t, en.Hash, row[12])
				require.Equal(t, en.PrevHash, row[11])
				require.Equal(t, en.Canonical(), strings.Join([]string{row[0], row[2], row[3], row[4], row[7], row[8], row[9], row[10], row[1]}, "|"),
					"the canonical string is recomputable from the export's columns")
			}
			rows, bad, reason, err := ledger.VerifyExport(bytes.NewReader(r.Body))
			require.NoError(t, err)
			require.Zero(t, bad, reason)
			require.Equal(t, len(stored), rows)

			// The finance role may export too; the same bytes come out.
			require.Equal(t, r.Body, e.export(t, "finance", "plan="+plan).Body)
		})

		t.Run("xlsx", func(t *testing.T) {
			r := e.export(t, "auditor", "plan="+plan+"&format=xlsx")
			require.Equal(t, ledger.ContentTypes["xlsx"], r.Header.Get("Content-Type"))
			x, err := excelize.OpenReader(bytes.NewReader(r.Body))
			require.NoError(t, err)
			defer x.Close()
			rows, err := x.GetRows("Sheet1")
			require.NoError(t, err)
			require.Equal(t, csvRows, rows, "the same cells as the CSV, as text")
		})

		t.Run("ndjson", func(t *testing.T) {
			r := e.export(t, "auditor", "plan="+plan+"&format=ndjson")
			require.Equal(t, "application/x-ndjson", r.Header.Get("Content-Type"))
			sc := bufio.NewScanner(bytes.NewReader(r.Body))
			n := 0
			for sc.Scan() {
				var m map[string]any
				require.NoError(t, json.Unmarshal(sc.Bytes(), &m), "line %d", n+1)
				require.Len(t, m, len(ledger.Columns))
				var v ledger.EntryView
				require.NoError(t, json.Unmarshal(sc.Bytes(), &v))
				require.Equal(t, csvRows[n+1][12], v.Hash)
				require.Equal(t, csvRows[n+1][5], v.BeneficiaryID)
				n++
			}
			require.Equal(t, len(stored), n)
		})

		t.Run("the service exports what the endpoint does", func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, e.ledger.Export(context.Background(), ledger.Filter{Plan: plan}, ledger.FormatCSV, &buf))
			require.Equal(t, e.export(t, "auditor", "plan="+plan).Body, buf.Bytes())
		})

		t.Run("an export from a date starts mid-chain and still verifies", func(t *testing.T) {
			e.h.Clock.Advance(24 * time.Hour)
			e.approveAll(t, e.insertAssessed(t, plan, 3, 7000)...)
			r := e.export(t, "auditor", "plan="+plan+"&from=2026-06-16")
			rows, bad, reason, err := ledger.VerifyExport(bytes.NewReader(r.Body))
			require.NoError(t, err)
			require.Zero(t, bad, reason)
			require.Equal(t, 3, rows)
		})

		t.Run("an export of every plan verifies plan by plan", func(t *testing.T) {
			r := e.export(t, "auditor", "format=csv")
			rows, bad, reason, err := ledger.VerifyExport(bytes.NewReader(r.Body))
			require.NoError(t, err)
			require.Zero(t, bad, reason)
			require.Equal(t, int(servertest.Count(t, e.d, "ledger_entries", "1 = 1")), rows)
		})

		t.Run("a bad format is 422", func(t *testing.T) {
			er := servertest.RequireError(t, e.h.Get(t, "auditor", "/api/v1/ledger/export?format=pdf"), http.StatusUnprocessableEntity, "validation_failed")
			require.Equal(t, []string{"format"}, er.FieldNames())
		})

		t.Run("every export is on the audit log, which only auditors read", func(t *testing.T) {
			r := e.h.Get(t, "auditor", "/api/v1/audit?action=ledger.export&limit=100")
			servertest.RequireStatus(t, r, http.StatusOK)
			var list struct {
				Items []payouts.AuditView `json:"items"`
			}
			r.JSON(t, &list)
			// csv ×2 (auditor, finance), xlsx, ndjson, the service check's
			// comparison, the dated one and the all-plans one; the service
			// call itself is not a request and is not audited.
			require.Len(t, list.Items, 7)
			byFormat := map[string]int{}
			for _, a := range list.Items {
				require.Equal(t, "ledger.export", a.Action)
				require.NotEmpty(t, a.RequestID)
				byFormat[a.Outcome]++
				if a.Actor == "fin-wang" {
					require.Equal(t, "finance", a.Role)
				} else {
					require.Equal(t, "aud-zhao", a.Actor)
					require.Equal(t, "auditor", a.Role)
				}
			}
			require.Equal(t, map[string]int{"csv": 5, "xlsx": 1, "ndjson": 1}, byFormat)
			require.Equal(t, plan, list.Items[len(list.Items)-1].Target, "the oldest is the first csv download of the plan")

			servertest.RequireError(t, e.h.Get(t, "finance", "/api/v1/audit"), http.StatusForbidden, "forbidden")
			servertest.RequireError(t, e.h.Get(t, "admin", "/api/v1/audit"), http.StatusForbidden, "forbidden")
		})
	})
}

// editCSV returns export with row (1-based data row) changed by edit.
func editCSV(t *testing.T, export []byte, edit func(lines []string) []string) []byte {
	t.Helper()
	lines := strings.Split(string(export), "\r\n")
	return []byte(strings.Join(edit(lines), "\r\n"))
}

// VerifyExport finds any change to a hashed column, a missing or reordered
// row, and names the first bad line (the header is line 1).
func TestVerifyExportFindsTampering(t *testing.T) {
	e := newEnv(t, testdb.Open(t, "sqlite"))
	plan, _ := e.ledgerPlan(t, 8)
	var buf bytes.Buffer
	require.NoError(t, e.ledger.Export(context.Background(), ledger.Filter{Plan: plan}, ledger.FormatCSV, &buf))
	good := buf.Bytes()
	rows, bad, reason, err := ledger.VerifyExport(bytes.NewReader(good))
	require.NoError(t, err)
	require.Zero(t, bad, reason)
	require.Equal(t, 9, rows)

	// Line 5 is seq 4: a reserve of 100.02.
	field := func(line string, i int) string { return strings.Split(line, ",")[i] }
	setField := func(line string, i int, v string) string {
		f := strings.Split(line, ",")
		f[i] = v
		return strings.Join(f, ",")
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == '0' {
			b[i] = '1'
		} else {
			b[i] = '0'
		}
		return string(b)
	}
	for _, tc := range []struct {
		name     string
		edit     func(lines []string) []string
		wantLine int
	}{
		{"one digit of an amount", func(l []string) []string {
			require.Equal(t, "100.02", field(l[4], 7))
			l[4] = setField(l[4], 7, "100.03")
			return l
		}, 5},
		{"one character of a hash", func(l []string) []string {
			l[4] = setField(l[4], 12, flip(field(l[4], 12), 10))
			return l
		}, 5},
		{"one character of a prev_hash", func(l []string) []string {
			l[6] = setField(l[6], 11, flip(field(l[6], 11), 63))
			return l
		}, 7},
		{"the actor", func(l []string) []string { l[3] = setField(l[3], 10, "fin-wanG"); return l }, 4},
		{"the time by a millisecond", func(l []string) []string {
			at := field(l[3], 1)
			l[3] = setField(l[3], 1, at[:len(at)-2]+"9Z")
			return l
		}, 4},
		{"the kind", func(l []string) []string { l[3] = setField(l[3], 3, "release"); return l }, 4},
		{"the claim id", func(l []string) []string { l[3] = setField(l[3], 4, flip(field(l[3], 4), 25)); return l }, 4},
		{"a deleted middle row", func(l []string) []string { return append(l[:4:4], l[5:]...) }, 5},
		{"two rows swapped", func(l []string) []string { l[3], l[4] = l[4], l[3]; return l }, 4},
		{"a row repeated", func(l []string) []string { return append(l[:5:5], l[4:]...) }, 6},
		{"an amount with one decimal", func(l []string) []string { l[4] = setField(l[4], 7, "100.0"); return l }, 5},
		{"a row with a column missing", func(l []string) []string {
			f := strings.Split(l[4], ",")
			l[4] = strings.Join(f[:12], ",")
			return l
		}, 5},
		{"the header", func(l []string) []string { l[0] = strings.Replace(l[0], "amount", "amt", 1); return l }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			changed := editCSV(t, good, tc.edit)
			require.NotEqual(t, good, changed)
			_, bad, reason, err := ledger.VerifyExport(bytes.NewReader(changed))
			require.NoError(t, err)
			require.Equal(t, tc.wantLine, bad, "reason: %s", reason)
			require.NotEmpty(t, reason)
		})
	}

	t.Run("the masked beneficiary id is outside the hash", func(t *testing.T) {
		changed := editCSV(t, good, func(l []string) []string { l[4] = setField(l[4], 5, "411325********0000"); return l })
		_, bad, reason, err := ledger.VerifyExport(bytes.NewReader(changed))
		require.NoError(t, err)
		require.Zero(t, bad, reason)
	})

	t.Run("a file without a BOM verifies too", func(t *testing.T) {
		_, bad, _, err := ledger.VerifyExport(bytes.NewReader(good[3:]))
		require.NoError(t, err)
		require.Zero(t, bad)
	})

	t.Run("an empty file is an error", func(t *testing.T) {
		_, _, _, err := ledger.VerifyExport(strings.NewReader(""))
		require.Error(t, err)
	})
}

type verification struct {
	Plan        string `json:"plan"`
	OK          bool   `json:"ok"`
	Entries     int64  `json:"entries"`
	HeadHash    string `json:"head_hash"`
	FirstBadSeq *int64 `json:"first_bad_seq"`
	Reason      string `json:"reason"`
}

func (e *env) verify(t testing.TB, plan string) verification {
	t.Helper()
	r := e.h.Get(t, "auditor", "/api/v1/ledger/verify?plan="+plan)
	servertest.RequireStatus(t, r, http.StatusOK)
	var v verification
	r.JSON(t, &v)
	return v
}

// Entries altered in the database behind the application's back: verify
// answers ok:false with the first bad seq and Check reports a breach.
func TestTamperingInTheDatabase(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)

		t.Run("an intact ledger verifies", func(t *testing.T) {
			plan, _ := e.ledgerPlan(t, 3)
			v := e.verify(t, plan)
			var b ledger.Budget
			require.NoError(t, d.Where("plan_code = ?", plan).Take(&b).Error)
			require.Equal(t, verification{Plan: plan, OK: true, Entries: 4, HeadHash: b.LastHash}, v)
			e.requireSound(t)
		})

		t.Run("verify needs a known plan", func(t *testing.T) {
			er := servertest.RequireError(t, e.h.Get(t, "auditor", "/api/v1/ledger/verify"), http.StatusUnprocessableEntity, "validation_failed")
			require.Equal(t, []string{"plan"}, er.FieldNames())
			servertest.RequireError(t, e.h.Get(t, "auditor", "/api/v1/ledger/verify?plan=NO-SUCH"), http.StatusNotFound, "not_found")
		})

		swap := func(plan string, a, b int64) error {
			return d.Transaction(func(tx *gorm.DB) error {
				for _, s := range [][2]int64{{a, -1}, {b, a}, {-1, b}} {
					if err := tx.Exec("UPDATE ledger_entries SET seq = ? WHERE plan_code = ? AND seq = ?", s[1], plan, s[0]).Error; err != nil {
						return err
					}
				}
				return nil
			})
		}
		for _, tc := range []struct {
			name    string
			tamper  func(plan string) error
			badSeq  int64
			inCheck string
		}{
			{"an amount updated", func(plan string) error {
				return d.Exec("UPDATE ledger_entries SET amount = amount + 1 WHERE plan_code = ? AND seq = 3", plan).Error
			}, 3, "seq 3"},
			{"a middle row deleted", func(plan string) error {
				return d.Exec("DELETE FROM ledger_entries WHERE plan_code = ? AND seq = 3", plan).Error
			}, 3, "seq 3"},
			{"two rows' seq swapped", func(plan string) error { return swap(plan, 2, 3) }, 2, "seq 2"},
			{"the last row deleted", func(plan string) error {
				return d.Exec("DELETE FROM ledger_entries WHERE plan_code = ? AND seq = 5", plan).Error
			}, 5, "seq 5"},
			{"an actor rewritten with a recomputed hash, breaking the link", func(plan string) error {
				var en ledger.Entry
				if err := d.Where("plan_code = ? AND seq = 2", plan).Take(&en).Error; err != nil {
					return err
				}
				en.Actor = "fin-li"
				return d.Exec("UPDATE ledger_entries SET actor = ?, hash = ? WHERE plan_code = ? AND seq = 2", en.Actor, ledger.ChainHash(en.PrevHash, en.Canonical()), plan).Error
			}, 3, "seq 3"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				plan, _ := e.ledgerPlan(t, 4)
				require.True(t, e.verify(t, plan).OK)
				require.NoError(t, tc.tamper(plan))

				v := e.verify(t, plan)
				require.False(t, v.OK)
				require.NotNil(t, v.FirstBadSeq)
				require.Equal(t, tc.badSeq, *v.FirstBadSeq, "reason: %s", v.Reason)
				require.NotEmpty(t, v.Reason)

				breaches, err := e.svc.Check(context.Background())
				require.NoError(t, err)
				var mine []string
				for _, b := range breaches {
					if b.Plan == plan {
						mine = append(mine, b.String())
					}
				}
				require.NotEmpty(t, mine)
				require.Contains(t, mine[0], "ledger chain broken at "+tc.inCheck)
			})
		}

		t.Run("a budget row changed behind the ledger's back", func(t *testing.T) {
			plan, _ := e.ledgerPlan(t, 2)
			require.NoError(t, d.Exec("UPDATE budgets SET available = available + 100, funded = funded + 100 WHERE plan_code = ?", plan).Error)
			require.True(t, e.verify(t, plan).OK, "the chain itself is intact")
			breaches, err := e.svc.Check(context.Background())
			require.NoError(t, err)
			var mine []string
			for _, b := range breaches {
				if b.Plan == plan {
					mine = append(mine, b.What)
				}
			}
			require.ElementsMatch(t, []string{
				"budget row says funded 1000001.00 but its entries sum to 1000000.00",
				"budget row says available 999800.99 but its entries sum to 999799.99",
			}, mine)
		})

		t.Run("a claim whose reservation disagrees with its entries", func(t *testing.T) {
			plan, ids := e.ledgerPlan(t, 1)
			require.NoError(t, d.Exec("UPDATE claims SET reserved_amount = reserved_amount + 1 WHERE id = ?", ids[0]).Error)
			breaches, err := e.svc.Check(context.Background())
			require.NoError(t, err)
			var mine []payouts.Breach
			for _, b := range breaches {
				if b.Plan == plan {
					mine = append(mine, b)
				}
			}
			require.Len(t, mine, 1)
			require.Equal(t, ids[0], mine[0].ClaimID)
		})
	})
}
