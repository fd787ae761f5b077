package console_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/simplifiedchinese"

	"huimin/internal/db"
	"huimin/internal/testdb"
	"huimin/policies"
	"huimin/server/servertest"
)

// TestRegistryImportPage: the administrator uploads a GBK CSV, as Excel
// saves it in China, with one bad line. As through the API, the good rows
// are stored (two people, one of them from two rows) and the page gives the
// counts and the bad line with its column and message in Chinese; another
// role may not open the page or import.
func TestRegistryImportPage(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.user(t, "admin", "adm-zhao")
		e.user(t, "finance", "fin-wang")
		li, wang, bad := servertest.NewPersonID(), servertest.NewPersonID(), servertest.NewPersonID()
		csv := policies.RegistryCSVHeader + "\r\n" +
			li + ",resident_id,李秀英,411302,,6222020000000000001,category,rural_destitute,2026-01-01,\r\n" +
			li + ",resident_id,李秀英,411302,,6222020000000000001,residency,hukou,2020-01-01,\r\n" +
			bad + ",resident_id,赵大山,999999,,6222020000000000002,category,illness_poverty,2026-01-01,\r\n" +
			wang + ",resident_id,王小明,411303,,6222020000000000003,category,illness_poverty,2026-03-01,\r\n"
		gbk, err := simplifiedchinese.GBK.NewEncoder().String(csv)
		require.NoError(t, err)
		require.False(t, strings.Contains(gbk, "李秀英"), "the file really is GBK")

		zhao := e.client(t)
		require.Equal(t, http.StatusSeeOther, zhao.login("adm-zhao", password).StatusCode)
		p := zhao.get("/console/registry/import")
		require.Equal(t, http.StatusOK, p.StatusCode, p.Body)
		require.Contains(t, p.Body, "建档立卡批量导入")
		require.Contains(t, p.Body, `enctype="multipart/form-data"`)
		tok := zhao.csrf("/console/registry/import")

		// Windows names a .csv application/vnd.ms-excel: the charset is
		// detected, as the API does.
		p = zhao.upload("/console/registry/import", tok, "建档立卡.csv", "application/vnd.ms-excel", []byte(gbk))
		require.Equal(t, http.StatusOK, p.StatusCode, p.Body)
		for _, want := range []string{
			`<strong id="import-created">2</strong>`, `<strong id="import-updated">0</strong>`,
			`<strong id="import-unchanged">0</strong>`, `<strong id="import-errors">1</strong>`,
			"文件中有 1 处错误，涉及的行未导入；其余各行已导入。",
		} {
			require.Contains(t, p.Body, want)
		}
		row := regexp.MustCompile(`(?s)<table class="grid small" id="import-error-rows">.*?<tbody>(.*?)</tbody>`).FindStringSubmatch(p.Body)
		require.NotNil(t, row, p.Body)
		require.Equal(t, 1, strings.Count(row[1], "<tr>"))
		require.Contains(t, row[1], `<td class="num">4</td>`, "the header is line 1")
		require.Contains(t, row[1], "区县代码")
		require.Contains(t, row[1], "必须是 GB/T 2260 中南阳市 13 个区县代码之一")

		// The good rows are stored, merged per person; the bad one is not.
		r := e.h.Get(t, "admin", "/api/v1/beneficiaries/"+li)
		servertest.RequireStatus(t, r, http.StatusOK)
		got := r.Map(t)
		require.Equal(t, "李秀英", got["name"])
		require.Len(t, got["categories"], 1)
		require.Len(t, got["residency"], 1)
		servertest.RequireStatus(t, e.h.Get(t, "admin", "/api/v1/beneficiaries/"+wang), http.StatusOK)
		servertest.RequireError(t, e.h.Get(t, "admin", "/api/v1/beneficiaries/"+bad), http.StatusNotFound, "not_found")
		require.Equal(t, []string{"created=2 updated=0 unchanged=0 errors=1"}, e.auditOutcomes(t, "adm-zhao", "beneficiary.import"))

		// The same file again changes nothing.
		p = zhao.upload("/console/registry/import", tok, "建档立卡.csv", "text/csv", []byte(gbk))
		require.Equal(t, http.StatusOK, p.StatusCode)
		require.Contains(t, p.Body, `<strong id="import-unchanged">2</strong>`)

		// No file at all.
		p = zhao.upload("/console/registry/import", tok, "空.csv", "text/csv", nil)
		require.Equal(t, http.StatusUnprocessableEntity, p.StatusCode)
		require.Contains(t, p.Body, "文件是空的。")

		// Finance may neither open the page nor import.
		fin := e.client(t)
		require.Equal(t, http.StatusSeeOther, fin.login("fin-wang", password).StatusCode)
		require.Equal(t, http.StatusForbidden, fin.get("/console/registry/import").StatusCode)
		other := servertest.NewPersonID()
		one := policies.RegistryCSVHeader + "\r\n" + other + ",resident_id,孙丽,411302,,6222020000000000004,category,rural_destitute,2026-01-01,\r\n"
		p = fin.upload("/console/registry/import", fin.csrf("/console/"), "a.csv", "text/csv", []byte(one))
		require.Equal(t, http.StatusForbidden, p.StatusCode)
		require.Contains(t, p.Body, "您的角色无权进行此操作。")
		servertest.RequireError(t, e.h.Get(t, "admin", "/api/v1/beneficiaries/"+other), http.StatusNotFound, "not_found")
	})
}
