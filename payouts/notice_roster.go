package payouts

import (
	"bytes"
	"cmp"
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
	"gorm.io/gorm"

	"huimin/claims"
	"huimin/internal/audit"
	"huimin/internal/mask"
	"huimin/internal/money"
	"huimin/policies"
)

// The 公示名单 (notice roster, DESIGN §14) is what is posted in the village
// and township and on the county's website: who is to be paid, how much and
// why, for how long the list is up and where to object. Names and id
// numbers are masked, since the list is public.

// Roster formats of GET /api/v1/notices/{id}.
const (
	noticeXLSX = "xlsx"
	noticeHTML = "html"
)

const xlsxType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// NoticeColumns are the roster's columns, in order.
var NoticeColumns = []string{"序号", "姓名", "身份证号", "乡镇", "村", "项目", "原因", "金额"}

// noticeWidths are the XLSX widths of NoticeColumns, in characters.
var noticeWidths = []float64{6, 10, 21, 14, 14, 10, 10, 14}

// causeNames are the Chinese names of the causes, by programme (a disaster
// is 灾害 under 政福保's one-time relief, 因灾 under 防贫保's causes of
// hardship), as a roster prints them in 原因.
var causeNames = map[string]map[string]string{
	policies.ZKB: {policies.CauseMedical: "医疗"},
	policies.ZFB: {policies.CauseDisaster: "灾害"},
	policies.FPB: {policies.CauseIllness: "因病", policies.CauseEducation: "因学", policies.CauseDisaster: "因灾", policies.CauseAccident: "因意外"},
	policies.CYB: {policies.CausePremiumSubsidy: "保费补贴", policies.CauseLossTopup: "理赔再奖补"},
}

func causeName(programme, cause string) string {
	if n, ok := causeNames[programme][cause]; ok {
		return n
	}
	return cause
}

// MaskName hides a name on a public roster: the first and last characters
// stay and those between become "*" (张*三, 欧**娜); a two-character name
// keeps its first (张*), a one-character name is "*".
func MaskName(name string) string {
	r := []rune(strings.TrimSpace(name))
	switch len(r) {
	case 0:
		return ""
	case 1:
		return "*"
	case 2:
		return string(r[0]) + "*"
	}
	return string(r[0]) + strings.Repeat("*", len(r)-2) + string(r[len(r)-1])
}

// noticeRow is one line of the roster, as printed.
type noticeRow struct {
	Seq       int
	Name      string // masked
	IDNumber  string // masked
	Township  string
	Village   string
	Programme string
	Cause     string
	Amount    int64 // fen

	county, claimID string // order only
}

// NoticeRoster is a notice ready to print.
type NoticeRoster struct {
	NoticeID  string
	Title     string // 防贫保 2026 拟发放对象公示名单（内乡县）
	Period    string // 2026-06-15 至 2026-06-23
	Days      int
	Lead      string // what is published, and why
	Objection string // where to object
	Issuer    string // the finance bureau that posts it
	StartsOn  string
	Rows      []noticeRow
	Total     int64 // fen
}

// NoticeRoster renders a notice's roster from the notice, its claims and
// their payees' registry entries as they are now (a claim declined since is
// still listed, with the amount shown), and audits the download in the same
// transaction.
func (s *Service) NoticeRoster(ctx context.Context, who audit.Who, id, format string) (NoticeRoster, error) {
	var r NoticeRoster
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		n, err := claims.LoadNotice(ctx, tx, id)
		if err != nil {
			return err
		}
		lines, err := claims.NoticeLines(ctx, tx, id)
		if err != nil {
			return err
		}
		plan, err := policies.LoadPlan(ctx, tx, n.Plan, false)
		if err != nil {
			return err
		}
		people := make([]string, len(lines))
		for i, l := range lines {
			people[i] = l.BeneficiaryID
		}
		entries, err := policies.LoadRegistryEntries(ctx, tx, people)
		if err != nil {
			return err
		}
		r = noticeRoster(n, plan, lines, entries)
		return audit.Write(ctx, tx, s.now(), who, "notice.roster", id, fmt.Sprintf("%s, %d rows", format, len(r.Rows)))
	})
	return r, err
}

func noticeRoster(n claims.Notice, plan policies.Plan, lines []claims.NoticeLine, entries map[string]policies.RegistryEntry) NoticeRoster {
	county := policies.Counties[n.CountyCode]
	r := NoticeRoster{NoticeID: n.ID, Period: n.StartsOn + " 至 " + n.EndsOn, Days: n.NoticeDays, StartsOn: n.StartsOn,
		Title: plan.Name + " 拟发放对象公示名单"}
	if county != "" {
		r.Title += "（" + county + "）"
		r.Issuer = county + "财政局"
		r.Objection = "公示期内，对公示对象有异议的，请向" + county + "财政局实名反映。"
	} else {
		r.Issuer = "南阳市财政局"
		r.Objection = "公示期内，对公示对象有异议的，请向其所在县（市、区）财政局实名反映。"
	}
	if n.Contact != "" {
		r.Objection += "联系方式：" + n.Contact
	}
	r.Lead = "根据惠民惠农财政补贴资金管理的有关规定，现将" + plan.Name + " 拟发放对象名单予以公示，接受社会监督。"
	r.Rows = make([]noticeRow, len(lines))
	for i, l := range lines {
		e := entries[l.BeneficiaryID]
		programme := l.Programme
		if p, ok := policies.ProgrammeByCode(l.Programme); ok {
			programme = p.Name
		}
		r.Rows[i] = noticeRow{Name: MaskName(e.Name), IDNumber: mask.ID(l.BeneficiaryID), Township: e.Township, Village: e.Village,
			Programme: programme, Cause: causeName(l.Programme, l.Cause), Amount: l.Amount, county: l.CountyCode, claimID: l.ClaimID}
		r.Total += l.Amount
	}
	// By place, so that each township's and village's people are together
	// where the list is posted (those whose place is not on record last);
	// then by claim, which is stable.
	slices.SortFunc(r.Rows, func(a, b noticeRow) int {
		return cmp.Or(cmp.Compare(a.county, b.county), placeOrder(a.Township, b.Township),
			placeOrder(a.Village, b.Village), cmp.Compare(a.claimID, b.claimID))
	})
	for i := range r.Rows {
		r.Rows[i].Seq = i + 1
	}
	return r
}

// placeOrder orders place names, an unknown ("") one after every known one.
func placeOrder(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return 1
	case b == "":
		return -1
	}
	return cmp.Compare(a, b)
}

// XLSX renders the roster as a workbook of one A4 sheet: the title, the
// period and where to object above the header, which repeats on every
// printed page and stays in view on screen; amounts are number cells with
// two decimals, the rest text; a totals row (合计) and the notice id end it.
func (r NoticeRoster) XLSX() ([]byte, error) {
	const sheet = "公示名单"
	x := excelize.NewFile()
	defer func() { _ = x.Close() }()
	if err := x.SetSheetName("Sheet1", sheet); err != nil {
		return nil, err
	}
	last, _ := excelize.ColumnNumberToName(len(NoticeColumns))
	border := []excelize.Border{{Type: "left", Style: 1, Color: "000000"}, {Type: "right", Style: 1, Color: "000000"},
		{Type: "top", Style: 1, Color: "000000"}, {Type: "bottom", Style: 1, Color: "000000"}}
	var err error
	style := func(st *excelize.Style) int {
		if err != nil {
			return 0
		}
		var id int
		id, err = x.NewStyle(st)
		return id
	}
	title := style(&excelize.Style{Font: &excelize.Font{Bold: true, Size: 16}, Alignment: &excelize.Alignment{Horizontal: "center", Vertical: "center"}})
	lead := style(&excelize.Style{Alignment: &excelize.Alignment{WrapText: true, Vertical: "center"}})
	header := style(&excelize.Style{Font: &excelize.Font{Bold: true}, Border: border, NumFmt: 49,
		Alignment: &excelize.Alignment{Horizontal: "center"}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"EEEEEE"}}})
	text := style(&excelize.Style{Border: border, NumFmt: 49})
	integer := style(&excelize.Style{Border: border, NumFmt: 1, Alignment: &excelize.Alignment{Horizontal: "center"}})
	amount := style(&excelize.Style{Border: border, NumFmt: 2})
	boldText := style(&excelize.Style{Border: border, NumFmt: 49, Font: &excelize.Font{Bold: true}})
	boldAmount := style(&excelize.Style{Border: border, NumFmt: 2, Font: &excelize.Font{Bold: true}})
	if err != nil {
		return nil, err
	}
	cell := func(col, row int) string {
		c, _ := excelize.CoordinatesToCellName(col, row)
		return c
	}
	set := func(fn func() error) {
		if err == nil {
			err = fn()
		}
	}
	// Rows 1–3: the heading, each line across the whole width.
	for row, line := range []struct {
		text   string
		style  int
		height float64
	}{{r.Title, title, 30}, {"公示期：" + r.Period + "（" + strconv.Itoa(r.Days) + " 个工作日）", lead, 20}, {r.Objection, lead, 32}} {
		n := row + 1
		set(func() error { return x.MergeCell(sheet, cell(1, n), last+strconv.Itoa(n)) })
		set(func() error { return x.SetCellStr(sheet, cell(1, n), line.text) })
		set(func() error { return x.SetCellStyle(sheet, cell(1, n), last+strconv.Itoa(n), line.style) })
		set(func() error { return x.SetRowHeight(sheet, n, line.height) })
	}
	const headerRow = 4
	for i, h := range NoticeColumns {
		col := i + 1
		set(func() error { return x.SetCellStr(sheet, cell(col, headerRow), h) })
		set(func() error {
			name, _ := excelize.ColumnNumberToName(col)
			return x.SetColWidth(sheet, name, name, noticeWidths[i])
		})
	}
	set(func() error {
		return x.SetCellStyle(sheet, cell(1, headerRow), cell(len(NoticeColumns), headerRow), header)
	})
	row := headerRow
	for _, rr := range r.Rows {
		row++
		n := row
		set(func() error { return x.SetCellInt(sheet, cell(1, n), int64(rr.Seq)) })
		for i, v := range []string{rr.Name, rr.IDNumber, rr.Township, rr.Village, rr.Programme, rr.Cause} {
			set(func() error { return x.SetCellStr(sheet, cell(i+2, n), v) })
		}
		// The amount's exact decimal text goes into the cell as a number:
		// no float64 on the way.
		set(func() error { return x.SetCellDefault(sheet, cell(8, n), money.String(money.FromFen(rr.Amount))) })
		set(func() error { return x.SetCellStyle(sheet, cell(1, n), cell(1, n), integer) })
		set(func() error { return x.SetCellStyle(sheet, cell(2, n), cell(7, n), text) })
		set(func() error { return x.SetCellStyle(sheet, cell(8, n), cell(8, n), amount) })
	}
	row++
	total := row
	set(func() error { return x.SetCellStr(sheet, cell(1, total), "合计") })
	set(func() error { return x.SetCellStr(sheet, cell(2, total), strconv.Itoa(len(r.Rows))+" 人") })
	set(func() error { return x.SetCellDefault(sheet, cell(8, total), money.String(money.FromFen(r.Total))) })
	set(func() error { return x.SetCellStyle(sheet, cell(1, total), cell(7, total), boldText) })
	set(func() error { return x.SetCellStyle(sheet, cell(8, total), cell(8, total), boldAmount) })
	foot := total + 2
	set(func() error { return x.MergeCell(sheet, cell(1, foot), last+strconv.Itoa(foot)) })
	set(func() error {
		return x.SetCellStr(sheet, cell(1, foot), r.Issuer+"  "+r.StartsOn+"    公示编号："+r.NoticeID+"（姓名、身份证号已脱敏）")
	})
	set(func() error {
		return x.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: headerRow, TopLeftCell: cell(1, headerRow+1), ActivePane: "bottomLeft"})
	})
	// A4 portrait, as wide as one page and as long as it takes.
	a4, portrait, wide, long, fitToPage := 9, "portrait", 1, 0, true
	set(func() error { return x.SetSheetProps(sheet, &excelize.SheetPropsOptions{FitToPage: &fitToPage}) })
	set(func() error {
		return x.SetPageLayout(sheet, &excelize.PageLayoutOptions{Size: &a4, Orientation: &portrait, FitToWidth: &wide, FitToHeight: &long})
	})
	set(func() error {
		return x.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles", RefersTo: "'" + sheet + "'!$" + strconv.Itoa(headerRow) + ":$" + strconv.Itoa(headerRow), Scope: sheet})
	})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := x.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

//go:embed notice_roster.html
var noticeTemplateText string

var noticeTemplate = template.Must(template.New("notice").Funcs(template.FuncMap{
	"yuan": func(fen int64) string { return money.String(money.FromFen(fen)) },
}).Parse(noticeTemplateText))

// HTML renders the roster as one printable page (A4, print-styled, its CSS
// embedded, no external asset).
func (r NoticeRoster) HTML() ([]byte, error) {
	var buf bytes.Buffer
	if err := noticeTemplate.Execute(&buf, struct {
		NoticeRoster
		Columns []string
	}{r, NoticeColumns}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
