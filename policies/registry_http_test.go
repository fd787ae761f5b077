package policies_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/simplifiedchinese"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/policies"
	"huimin/server/servertest"
)

// Registry ids of the HTTP tests: those of testdata/registry_gbk.csv, and
// two more people.
var (
	regZhang = policies.ResidentIDWithCheck("41132519850615001")
	regLi    = policies.ResidentIDWithCheck("41130219720304002")
	regCoop  = "91350100M000100Y43"
	regWang  = policies.ResidentIDWithCheck("41132819900101003")
	regZhao  = policies.ResidentIDWithCheck("41138119751231004")
)

func regPath(id string) string { return "/api/v1/beneficiaries/" + id }

// regView is a registry record as answered.
type regView struct {
	IDNumber      string                   `json:"id_number"`
	IDType        string                   `json:"id_type"`
	Name          string                   `json:"name"`
	CountyCode    string                   `json:"county_code"`
	CountyName    string                   `json:"county_name"`
	HouseholdID   *string                  `json:"household_id"`
	PayoutAccount *string                  `json:"payout_account"`
	Residency     []policies.ResidencyBody `json:"residency"`
	Categories    []policies.CategoryBody  `json:"categories"`
}

// regBody is a valid PUT body for a person of 内乡县.
func regBody() map[string]any {
	return map[string]any{
		"name": "张三", "county_code": "411325", "household_id": "NX-0001", "payout_account": "6222021234567890123",
		"categories": []any{map[string]any{"category": "illness_poverty", "valid_from": "2026-01-01", "valid_to": nil}},
		"residency":  []any{map[string]any{"type": "hukou", "valid_from": "2010-03-01", "valid_to": nil}},
	}
}

// regGet fetches a record as role and decodes it.
func regGet(t *testing.T, h *servertest.Harness, role, id string) regView {
	t.Helper()
	r := h.Get(t, role, regPath(id))
	servertest.RequireStatus(t, r, http.StatusOK)
	var v regView
	r.JSON(t, &v)
	return v
}

// regCount counts stored beneficiaries.
func regCount(t *testing.T, d *db.DB) int64 {
	t.Helper()
	var n int64
	require.NoError(t, d.Raw("SELECT COUNT(*) FROM beneficiaries").Scan(&n).Error)
	return n
}

// regRequireNoRawIDs fails if an audit record holds one of ids unmasked.
func regRequireNoRawIDs(t *testing.T, d *db.DB, ids ...string) {
	t.Helper()
	var rows []map[string]any
	require.NoError(t, d.Raw("SELECT * FROM audit_log").Scan(&rows).Error)
	all, err := json.Marshal(rows)
	require.NoError(t, err)
	for _, id := range ids {
		require.NotContains(t, string(all), id, "audit records hold id numbers masked only")
	}
}

func TestBeneficiaryPutThenGet(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)

		r := h.Put(t, "admin", regPath(regZhang), regBody())
		servertest.RequireStatus(t, r, http.StatusCreated)
		var created regView
		r.JSON(t, &created)
		require.Equal(t, regView{
			IDNumber: regZhang, IDType: "resident_id", Name: "张三", CountyCode: "411325", CountyName: "内乡县",
			HouseholdID: ptrTo("NX-0001"), PayoutAccount: ptrTo("6222021234567890123"),
			Residency:  []policies.ResidencyBody{{Type: "hukou", ValidFrom: "2010-03-01"}},
			Categories: []policies.CategoryBody{{Category: "illness_poverty", ValidFrom: "2026-01-01"}},
		}, created, "id_type is detected from the id number")
		require.Equal(t, created, regGet(t, h, "admin", regZhang), "GET shows what PUT answered")

		// PUT again: the person is replaced, periods and all.
		h.Clock.Advance(time.Hour)
		body := regBody()
		delete(body, "household_id")
		body["name"] = "张三丰"
		body["categories"] = []any{
			map[string]any{"category": "marginal_at_risk", "valid_from": "2026-01-01", "valid_to": "2026-12-31"},
			map[string]any{"category": "sudden_hardship", "valid_from": "2025-07-01", "valid_to": nil},
		}
		body["residency"] = []any{}
		r = h.Put(t, "admin", regPath(regZhang), body)
		servertest.RequireStatus(t, r, http.StatusOK)
		var updated regView
		r.JSON(t, &updated)
		require.Equal(t, "张三丰", updated.Name)
		require.Nil(t, updated.HouseholdID, "an omitted household id is cleared")
		require.Empty(t, updated.Residency, "the hukou period is gone")
		require.Equal(t, []policies.CategoryBody{
			{Category: "sudden_hardship", ValidFrom: "2025-07-01"},
			{Category: "marginal_at_risk", ValidFrom: "2026-01-01", ValidTo: ptrTo("2026-12-31")},
		}, updated.Categories, "periods come back ordered by valid_from")
		require.Equal(t, updated, regGet(t, h, "admin", regZhang))
		require.EqualValues(t, 1, regCount(t, d))

		var createdAt, updatedAt int64
		require.NoError(t, d.Raw("SELECT created_at FROM beneficiaries").Scan(&createdAt).Error)
		require.NoError(t, d.Raw("SELECT updated_at FROM beneficiaries").Scan(&updatedAt).Error)
		require.Equal(t, servertest.Start.UnixMilli(), createdAt, "created_at is kept")
		require.Equal(t, servertest.Start.Add(time.Hour).UnixMilli(), updatedAt)

		// Finance and auditors read the full record.
		for _, role := range []string{"finance", "auditor"} {
			require.Equal(t, updated, regGet(t, h, role, regZhang), role)
		}

		// Insurers see county, categories and residency only.
		r = h.Get(t, "insurer", regPath(regZhang))
		servertest.RequireStatus(t, r, http.StatusOK)
		limited := r.Map(t)
		require.ElementsMatch(t, []string{"id_number", "county_code", "county_name", "categories", "residency"}, keysOf(limited))
		require.NotContains(t, string(r.Body), "张三丰")
		require.NotContains(t, string(r.Body), "6222021234567890123")
		require.Equal(t, "内乡县", limited["county_name"])
		require.Len(t, limited["categories"], 2)

		var audits []struct{ Target, Outcome, Actor string }
		require.NoError(t, d.Raw("SELECT target, outcome, actor FROM audit_log WHERE action = 'beneficiary.put' ORDER BY id").Scan(&audits).Error)
		require.Len(t, audits, 2)
		for i, outcome := range []string{"created", "updated"} {
			require.Equal(t, policies.MaskID(regZhang), audits[i].Target)
			require.Equal(t, outcome, audits[i].Outcome)
		}
		regRequireNoRawIDs(t, d, regZhang)
	})
}

func TestBeneficiaryAccess(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		servertest.RequireStatus(t, h.Put(t, "admin", regPath(regZhang), regBody()), http.StatusCreated)
		cases := []struct {
			name   string
			req    servertest.Request
			status int
			code   string
		}{
			{"insurer may not write the registry", servertest.Request{Method: "PUT", Path: regPath(regZhang), Token: "insurer", Body: regBody()}, 403, "forbidden"},
			{"finance may not write the registry", servertest.Request{Method: "PUT", Path: regPath(regZhang), Token: "finance", Body: regBody()}, 403, "forbidden"},
			{"auditors change nothing", servertest.Request{Method: "PUT", Path: regPath(regZhang), Token: "auditor", Body: regBody()}, 403, "forbidden"},
			{"insurer may not import", servertest.Request{Method: "POST", Path: "/api/v1/beneficiaries/import", Token: "insurer", Body: policies.RegistryCSVHeader + "\n", Header: map[string]string{"Content-Type": "text/csv"}}, 403, "forbidden"},
			{"no token to read", servertest.Request{Method: "GET", Path: regPath(regZhang)}, 401, "unauthorized"},
			{"no token to write", servertest.Request{Method: "PUT", Path: regPath(regZhang), Body: regBody()}, 401, "unauthorized"},
			{"no token to import", servertest.Request{Method: "POST", Path: "/api/v1/beneficiaries/import", Body: policies.RegistryCSVHeader + "\n", Header: map[string]string{"Content-Type": "text/csv"}}, 401, "unauthorized"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				servertest.RequireError(t, h.Do(t, tc.req), tc.status, tc.code)
			})
		}
		require.Equal(t, "张三", regGet(t, h, "admin", regZhang).Name, "no refused request changed the record")
	})
}

func TestBeneficiaryGetUnknownOrMalformed(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		r := h.Get(t, "finance", regPath(regWang))
		e := servertest.RequireError(t, r, http.StatusNotFound, "not_found")
		require.NotContains(t, e.Error.Message, regWang, "messages show ids masked")

		r = h.Get(t, "insurer", regPath(regWang))
		servertest.RequireError(t, r, http.StatusNotFound, "not_found")

		mistyped := regWang[:17] + string("0123456789"[(strings.IndexByte("0123456789", regWang[17])+1)%10])
		if regWang[17] == 'X' {
			mistyped = regWang[:17] + "0"
		}
		for _, id := range []string{mistyped, "411328199001010", "41132819900101003x"} {
			r = h.Get(t, "admin", regPath(id))
			e = servertest.RequireError(t, r, http.StatusUnprocessableEntity, "validation_failed")
			require.Equal(t, []string{"id_number"}, e.FieldNames())
			require.NotContains(t, string(r.Body), id, "the message never repeats the id")
		}
	})
}

func TestBeneficiaryPutRejectsInvalidBodies(t *testing.T) {
	mistyped := regZhang[:17] + "0"
	if regZhang[17] == '0' {
		mistyped = regZhang[:17] + "1"
	}
	cases := []struct {
		name   string
		id     string
		change func(b map[string]any)
		fields []string
	}{
		{"county outside Nanyang", regZhang, func(b map[string]any) { b["county_code"] = "110101" }, []string{"county_code"}},
		{"not a calendar date", regZhang, func(b map[string]any) {
			b["categories"] = []any{map[string]any{"category": "illness_poverty", "valid_from": "2026-02-30", "valid_to": nil}}
		}, []string{"categories[0].valid_from"}},
		{"period ends before it starts", regZhang, func(b map[string]any) {
			b["categories"] = []any{map[string]any{"category": "illness_poverty", "valid_from": "2026-01-01", "valid_to": "2025-12-31"}}
		}, []string{"categories[0].valid_to"}},
		{"empty valid_to instead of null", regZhang, func(b map[string]any) {
			b["residency"] = []any{map[string]any{"type": "hukou", "valid_from": "2010-03-01", "valid_to": ""}}
		}, []string{"residency[0].valid_to"}},
		{"one period with two ends", regZhang, func(b map[string]any) {
			b["categories"] = []any{
				map[string]any{"category": "illness_poverty", "valid_from": "2026-01-01", "valid_to": nil},
				map[string]any{"category": "illness_poverty", "valid_from": "2026-01-01", "valid_to": "2026-06-30"},
			}
		}, []string{"categories[1].valid_to"}},
		{"unknown field", regZhang, func(b map[string]any) { b["nickname"] = "小张" }, []string{"nickname"}},
		{"id number in the body is not a field", regZhang, func(b map[string]any) { b["id_number"] = regZhang }, []string{"id_number"}},
		{"bad checksum in the path", mistyped, func(map[string]any) {}, []string{"id_number"}},
		{"every bad field at once", regZhang, func(b map[string]any) {
			b["county_code"] = "411399"
			b["payout_account"] = "6222-0212"
			b["residency"] = []any{map[string]any{"type": "tourist", "valid_from": "2010-03-01", "valid_to": nil}}
		}, []string{"county_code", "payout_account", "residency[0].type"}},
		{"no period at all", regZhang, func(b map[string]any) { b["categories"], b["residency"] = []any{}, nil }, []string{"categories"}},
	}
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				body := regBody()
				tc.change(body)
				r := h.Put(t, "admin", regPath(tc.id), body)
				e := servertest.RequireError(t, r, http.StatusUnprocessableEntity, "validation_failed")
				require.ElementsMatch(t, tc.fields, e.FieldNames())
				require.NotContains(t, string(r.Body), "6222021234567890123", "answers never repeat the account")
				require.Zero(t, regCount(t, d), "nothing is stored")
				servertest.RequireError(t, h.Get(t, "admin", regPath(regZhang)), http.StatusNotFound, "not_found")
			})
		}
		var n int64
		require.NoError(t, d.Raw("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'beneficiary.%'").Scan(&n).Error)
		require.Zero(t, n, "refused requests change nothing, so they leave no beneficiary audit record")
	})
}

// regText is testdata/registry_gbk.csv before encoding: three people, one
// with two rows.
var regText = policies.RegistryCSVHeader + "\r\n" +
	regZhang + ",resident_id,张三,411325,NX-0001,6222021234567890123,category,illness_poverty,2026-01-01,\r\n" +
	regLi + `,resident_id,"欧阳·丽娟",411326,XC-0420,,residency,hukou,2018-05-01,` + "\r\n" +
	regLi + `,resident_id,"欧阳·丽娟",411326,XC-0420,,category,marginal_at_risk,2026-01-01,2026-12-31` + "\r\n" +
	regCoop + ",uscc,邓州市月季花卉专业合作社,411381,,12345678901,category,agri_operator,2026-01-01,\r\n"

// regImportAnswer is the answer of an import.
type regImportAnswer struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
	Errors    []struct {
		Line    int    `json:"line"`
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

// regImport posts a CSV body with a Content-Type and expects 200.
func regImport(t *testing.T, h *servertest.Harness, body []byte, contentType string) regImportAnswer {
	t.Helper()
	r := h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/beneficiaries/import", Token: "admin", Body: body,
		Header: map[string]string{"Content-Type": contentType}})
	servertest.RequireStatus(t, r, http.StatusOK)
	require.Contains(t, string(r.Body), `"errors":[`, "errors is a list, never null")
	var a regImportAnswer
	r.JSON(t, &a)
	return a
}

func TestBeneficiaryImportEncodings(t *testing.T) {
	gbkFile, err := os.ReadFile(filepath.Join("testdata", "registry_gbk.csv"))
	require.NoError(t, err)
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(regText))
	require.NoError(t, err)
	require.Equal(t, gbk, gbkFile, "the fixture is regText in GBK")

	// One database: the first import creates the three people, each later
	// one finds them as they are and counts them as unchanged.
	cases := []struct {
		name        string
		body        []byte
		contentType string
		created     int
	}{
		{"UTF-8", []byte(regText), "text/csv", 3},
		{"UTF-8 with a byte order mark", append([]byte("\xEF\xBB\xBF"), regText...), "text/csv; charset=utf-8", 0},
		{"GBK named by the Content-Type", gbkFile, "text/csv; charset=GBK", 0},
		{"GBK detected without a charset", gbk, "text/csv", 0},
	}
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				a := regImport(t, h, tc.body, tc.contentType)
				require.Empty(t, a.Errors)
				require.Equal(t, tc.created, a.Created)
				require.Zero(t, a.Updated)
				require.Equal(t, 3-tc.created, a.Unchanged)

				li := regGet(t, h, "admin", regLi)
				require.Equal(t, "欧阳·丽娟", li.Name, "Chinese names are stored intact")
				require.Equal(t, "淅川县", li.CountyName)
				require.Equal(t, []policies.ResidencyBody{{Type: "hukou", ValidFrom: "2018-05-01"}}, li.Residency)
				require.Equal(t, []policies.CategoryBody{{Category: "marginal_at_risk", ValidFrom: "2026-01-01", ValidTo: ptrTo("2026-12-31")}}, li.Categories)
				require.Nil(t, li.PayoutAccount)
				require.Equal(t, "张三", regGet(t, h, "admin", regZhang).Name)
				coop := regGet(t, h, "admin", regCoop)
				require.Equal(t, "邓州市月季花卉专业合作社", coop.Name)
				require.Equal(t, "uscc", coop.IDType)
			})
		}
		require.EqualValues(t, 3, regCount(t, d))
		var outcomes []string
		require.NoError(t, d.Raw("SELECT outcome FROM audit_log WHERE action = 'beneficiary.import' ORDER BY id").Scan(&outcomes).Error)
		require.Equal(t, []string{
			"created=3 updated=0 unchanged=0 errors=0", "created=0 updated=0 unchanged=3 errors=0",
			"created=0 updated=0 unchanged=3 errors=0", "created=0 updated=0 unchanged=3 errors=0",
		}, outcomes, "one audit record per import")
	})
}

func TestBeneficiaryImportReportsBadRowsAndKeepsGoodOnes(t *testing.T) {
	row := func(id, name, county, kind, value, from, to string) string {
		return strings.Join([]string{id, "", name, county, "", "", kind, value, from, to}, ",")
	}
	body := strings.Join([]string{
		policies.RegistryCSVHeader,
		row(regZhang, "张三", "411325", "category", "illness_poverty", "2026-01-01", ""),           // 2 good
		row(regZhang, "张三", "411325", "residency", "hukou", "2010-03-01", ""),                    // 3 good
		row(regLi, "李四", "999999", "category", "illness_poverty", "2026-01-01", ""),              // 4 bad county: 李四 has no good row
		row(regCoop, "合作社", "411381", "category", "roses", "2026-01-01", ""),                     // 5 bad value: the cooperative neither
		row(regWang, "王五", "411328", "category", "marginal_at_risk", "2026-05-01", "2026-04-30"), // 6 ends before it starts
		row(regWang, "王五", "411328", "residency", "residence_permit", "2024-01-01", ""),          // 7 good: 王五 is kept with it
		row(regZhao, "赵六", "411381", "category", "illness_poverty", "2026-01-01", ""),            // 8 good alone,
		row(regZhao, "赵六", "411381", "category", "illness_poverty", "2026-01-01", "2026-06-30"),  // 9 but the same period ends twice
		regZhang + ",resident_id,张三", // 10 too few columns
		"",
	}, "\n")
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)
		a := regImport(t, h, []byte(body), "text/csv; charset=utf-8")
		type at struct {
			Line  int
			Field string
		}
		var got []at
		for _, e := range a.Errors {
			got = append(got, at{e.Line, e.Field})
			require.NotEmpty(t, e.Message)
			for _, id := range []string{regZhang, regLi, regCoop, regWang, regZhao} {
				require.NotContains(t, e.Message, id, "messages never repeat an id")
			}
		}
		require.Equal(t, []at{{4, "county_code"}, {5, "value"}, {6, "valid_to"}, {9, "valid_to"}, {10, "row"}}, got)
		require.Contains(t, a.Errors[3].Message, "line 8")
		require.Equal(t, 2, a.Created, "张三 and 王五")
		require.Zero(t, a.Updated)

		zhang := regGet(t, h, "admin", regZhang)
		require.Len(t, zhang.Categories, 1)
		require.Len(t, zhang.Residency, 1)
		wang := regGet(t, h, "admin", regWang)
		require.Empty(t, wang.Categories, "the bad row of a person is left out")
		require.Equal(t, []policies.ResidencyBody{{Type: "residence_permit", ValidFrom: "2024-01-01"}}, wang.Residency)
		for _, id := range []string{regLi, regCoop, regZhao} {
			servertest.RequireError(t, h.Get(t, "admin", regPath(id)), http.StatusNotFound, "not_found")
		}
		require.EqualValues(t, 2, regCount(t, d))

		var outcome string
		require.NoError(t, d.Raw("SELECT outcome FROM audit_log WHERE action = 'beneficiary.import'").Scan(&outcome).Error)
		require.Equal(t, "created=2 updated=0 unchanged=0 errors=5", outcome)
		regRequireNoRawIDs(t, d, regZhang, regLi, regCoop, regWang, regZhao)
	})
}

func TestBeneficiaryImportUnreadableFiles(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		h := servertest.New(t, d)

		a := regImport(t, h, []byte("身份证号,姓名\n"+regZhang+",张三\n"), "text/csv")
		require.Len(t, a.Errors, 1)
		require.Equal(t, 1, a.Errors[0].Line)
		require.Equal(t, "header", a.Errors[0].Field)
		require.Zero(t, a.Created)

		r := h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/beneficiaries/import", Token: "admin",
			Header: map[string]string{"Content-Type": "text/csv"}})
		e := servertest.RequireError(t, r, http.StatusUnprocessableEntity, "validation_failed")
		require.Equal(t, []string{"body"}, e.FieldNames(), "the file is required")

		r = h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/beneficiaries/import", Token: "admin",
			Body: regText, Header: map[string]string{"Content-Type": "text/csv; charset=latin1"}})
		servertest.RequireError(t, r, http.StatusUnsupportedMediaType, "unsupported_media_type")

		gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(regText))
		require.NoError(t, err)
		r = h.Do(t, servertest.Request{Method: http.MethodPost, Path: "/api/v1/beneficiaries/import", Token: "admin",
			Body: gbk, Header: map[string]string{"Content-Type": "text/csv; charset=utf-8"}})
		e = servertest.RequireError(t, r, http.StatusUnprocessableEntity, "validation_failed")
		require.Equal(t, []string{"body"}, e.FieldNames(), "GBK bytes declared as UTF-8")

		require.Zero(t, regCount(t, d))
	})
}

func ptrTo[T any](v T) *T { return &v }

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
