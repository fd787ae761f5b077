package console_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"huimin/internal/db"
	"huimin/internal/testdb"
)

// TestBrowserPrevention: in Chromium, on each database, a finance clerk
// lowers the 防贫保 illness deductible on the what-if page without touching
// the JSON, sees the proposed total beside the current one, and records a
// visit on an early warning.
func TestBrowserPrevention(t *testing.T) {
	testdb.Run(t, func(t *testing.T, d *db.DB) {
		browser := newBrowser(t)
		e := newEnv(t, d)
		e.user(t, "finance", "fin-wang")
		shots := strings.HasSuffix(t.Name(), "sqlite")
		require.Equal(t, "2100.00", e.fpbClaim(t, "411302", "12000.00"))
		p := e.warnedPeople(t)

		wang := e.tab(t, browser)
		wang.login("fin-wang", password)

		t.Run("a what-if of a lower illness deductible", func(t *testing.T) {
			wang.t = t
			wang.open("/console/whatif?plan=FPB-2026")
			require.Equal(t, "因病 · 起付线", wang.text(`label[for="rule-causes-illness-deductible"]`))
			require.Equal(t, "5000.00", wang.eval(`document.querySelector("#rule-causes-illness-deductible").value`))
			// Cleared as a clerk selects the figure and types over it.
			require.Empty(t, wang.eval(`(document.querySelector("#rule-causes-illness-deductible").value = "")`))
			wang.type_("#rule-causes-illness-deductible", "3000.00")
			wang.click("#whatif-run", "#whatif-result")
			// 0.30 × (12000 − 5000) now, 0.30 × (12000 − 3000) proposed.
			require.Equal(t, "¥2,100.00", wang.text("#total-current"))
			require.Equal(t, "¥2,700.00", wang.text("#total-proposed"))
			require.Equal(t, "¥600.00", wang.text("#total-difference"))
			require.Contains(t, wang.text("#whatif-counties"), "宛城区")
			require.Contains(t, wang.text("#whatif-causes"), "因病")
			require.Contains(t, wang.text("#whatif-changes"), "因病 · 起付线")
			require.Equal(t, "3000.00", wang.eval(`document.querySelector("#rule-causes-illness-deductible").value`))
			if shots {
				wang.shot("whatif")
			}
			// The workbook link answers a workbook.
			href := wang.eval(`document.querySelector("#whatif-xlsx").getAttribute("href")`)
			status, xlsx := wang.fetch("GET", href, nil)
			require.Equal(t, 200, status)
			require.True(t, strings.HasPrefix(xlsx, "PK"), "an XLSX file is a zip")

			// A deductible that is not an amount: the field is named.
			wang.run(chromedp.SetValue(chromedp.CSS("#rule-causes-illness-deductible"), "三千"))
			wang.click("#whatif-run", "#problem")
			require.Contains(t, wang.text("#problem"), "rules.causes.illness.deductible")
			require.False(t, wang.has("#whatif-result"))
		})

		t.Run("record a visit on a warning", func(t *testing.T) {
			wang.t = t
			id, _ := e.warningID(t, p.wancheng)
			wang.open("/console/warnings?plan=FPB-2026")
			require.Contains(t, wang.text(`tr[data-county="411302"]`), "¥2,100.00")
			row := `tr[data-warning="` + id + `"]`
			require.Contains(t, wang.text(row), "待跟进")
			if shots {
				wang.shot("warnings")
			}
			wang.run(chromedp.Click(chromedp.CSS(row+" summary"), chromedp.NodeVisible))
			wang.run(chromedp.SetValue(chromedp.CSS(row+` select[name="status"]`), "visited"))
			wang.type_(row+` textarea[name="note"]`, "已入户核实")
			wang.click(row+` button[type="submit"]`, "#notice")
			require.Equal(t, "跟进情况已记录。", wang.text("#notice"))
			require.Contains(t, wang.text(row+" [data-status]"), "已走访")
			_, status := e.warningID(t, p.wancheng)
			require.Equal(t, "visited", status)
		})
	})
}
