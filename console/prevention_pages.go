package console

// The pages of prevention and planning (DESIGN §20): the early warnings
// (防贫预警) of a 政康保 or 防贫保 plan with their follow-up, and the what-if
// (政策测算) of proposed rules on a plan's claims. Both are views over
// prevention.Service, the methods the API calls: the warnings are
// ListWarnings and Summarise, a follow-up is SetStatus, and a what-if is
// Simulate, so that no rule is computed here.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/shopspring/decimal"

	"huimin/internal/apperr"
	"huimin/internal/auth"
	"huimin/internal/mask"
	"huimin/internal/web"
	"huimin/policies"
	"huimin/prevention"
)

// Role sets of the prevention pages: every reader sees the warnings;
// finance and administrators record follow-ups (as the API allows) and run
// what-ifs.
var planners = []string{auth.Finance, auth.Admin}

// preventionRoutes mounts the pages of 防贫预警 and the what-if (DESIGN §20).
func (c *Console) preventionRoutes(e *echo.Echo) {
	e.GET("/console/warnings", c.staff(readers, c.warnings))
	e.POST("/console/warnings/:id/status", c.staff(planners, c.warningStatus))
	e.GET("/console/whatif", c.staff(planners, c.whatif))
	e.POST("/console/whatif", c.staff(planners, c.runWhatif))
	e.GET("/console/whatif/simulation.xlsx", c.staff(planners, c.whatifWorkbook))
}

// warningsPerPage is how many warnings one page lists.
const warningsPerPage = 50

// warningStatuses are every status of a warning, in the order of its
// follow-up.
var warningStatuses = []string{prevention.StatusOpen, prevention.StatusVisited, prevention.StatusClaimed, prevention.StatusDismissed}

// warningFilter is the warnings page's choice of plan and filter, as typed.
type warningFilter struct {
	Plan, Status, County string
}

func (f warningFilter) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"plan": f.Plan, "status": f.Status, "county": f.County} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// warningLine is one warning as the list shows it.
type warningLine struct {
	prevention.WarningView
	People []string // masked ids with masked names
}

type warningsData struct {
	Plans     []policies.Plan // the ZKB and FPB plans
	Plan      policies.Plan
	F         warningFilter
	Statuses  []string // every status, for the filter
	Follow    []string // the statuses a follow-up sets
	Summary   prevention.Summary
	Rows      []warningLine
	Next      string // the next page's cursor, "" on the last
	Paged     bool   // this is not the first page
	Query     url.Values
	CanFollow bool
	NoteMax   int
}

// PageURL is the warnings list with the same filter, from the cursor
// ("" for the first page), built whole: html/template would escape a
// query string given to it as text and drop the filter from the link.
func (d warningsData) PageURL(cursor string) string {
	return pageURL("/console/warnings", d.Query, "cursor", cursor)
}

// warningPlans lists the plans that have warnings: 政康保 and 防贫保.
func (c *Console) warningPlans(ctx context.Context) ([]policies.Plan, error) {
	plans, _, err := c.planList(ctx)
	if err != nil {
		return nil, err
	}
	var out []policies.Plan
	for _, p := range plans {
		if p.Programme == policies.ZKB || p.Programme == policies.FPB {
			out = append(out, p)
		}
	}
	return out, nil
}

// readWarningFilter reads the plan and filter from query or form values;
// a malformed status or county selects nothing rather than fail, as the
// queue's filter does, and no plan means the first one (FPB first).
func readWarningFilter(get func(string) string, plans []policies.Plan) warningFilter {
	f := warningFilter{Plan: get("plan"), Status: get("status"), County: get("county")}
	if !slices.Contains(warningStatuses, f.Status) {
		f.Status = ""
	}
	if _, ok := policies.CountyName(f.County); !ok {
		f.County = ""
	}
	if !slices.ContainsFunc(plans, func(p policies.Plan) bool { return p.Code == f.Plan }) {
		f.Plan = defaultPlan(plans).Code
	}
	return f
}

// defaultPlan is the plan a page opens with: the first 防贫保 plan, else
// the first plan (the zero Plan when there is none).
func defaultPlan(plans []policies.Plan) policies.Plan {
	if i := slices.IndexFunc(plans, func(p policies.Plan) bool { return p.Programme == policies.FPB }); i >= 0 {
		return plans[i]
	}
	if len(plans) > 0 {
		return plans[0]
	}
	return policies.Plan{}
}

func (c *Console) warnings(r *request) error {
	return c.warningsPage(r, http.StatusOK, r.QueryParam)
}

// warningsPage renders the warnings of the plan that get chooses, with the
// county summary, one page of the list and, for finance and
// administrators, the follow-up forms.
func (c *Console) warningsPage(r *request, status int, get func(string) string, opts ...func(*Page)) error {
	ctx := r.Request().Context()
	plans, err := c.warningPlans(ctx)
	if err != nil {
		return err
	}
	d := warningsData{
		Plans: plans, F: readWarningFilter(get, plans), CanFollow: slices.Contains(planners, r.sess.Role), NoteMax: prevention.NoteMax,
		Statuses: warningStatuses, Follow: prevention.Statuses,
	}
	d.Query = d.F.query()
	if d.F.Plan == "" {
		return r.render(status, "warnings", "warnings.title", "nav.warnings", d, opts...)
	}
	for _, p := range plans {
		if p.Code == d.F.Plan {
			d.Plan = p
		}
	}
	// The list's first page computes the warnings again (ListWarnings), so
	// the summary is read after it: both count what would be payable now.
	var fe apperr.Fields
	lq := web.ReadList(r.Context, web.ListSpec{Default: warningsPerPage, Max: warningsPerPage, CursorParts: 2}, &fe)
	if len(fe) > 0 {
		lq.Cursor = nil // a cursor this page did not make: the first page
	}
	d.Paged = lq.Cursor != nil
	list, err := c.Prevention.ListWarnings(ctx, r.who(), prevention.WarningFilter{
		Plan: d.F.Plan, Status: d.F.Status, CountyCode: d.F.County, Cursor: lq.Cursor, Limit: lq.Limit,
	})
	if err != nil {
		return err
	}
	if d.Summary, err = c.Prevention.Summarise(ctx, r.who(), d.F.Plan); err != nil {
		return err
	}
	if list.NextCursor != nil {
		d.Next = *list.NextCursor
	}
	var ids []string
	for _, w := range list.Items {
		ids = append(ids, w.BeneficiaryIDs...)
	}
	names := c.names(ctx, ids)
	for _, w := range list.Items {
		line := warningLine{WarningView: w}
		for _, id := range w.BeneficiaryIDs {
			line.People = append(line.People, strings.TrimSpace(names[id]+" "+mask.ID(id)))
		}
		d.Rows = append(d.Rows, line)
	}
	return r.render(status, "warnings", "warnings.title", "nav.warnings", d, opts...)
}

// warningStatus records a follow-up through SetStatus, as POST
// /api/v1/warnings/{id}/status does, and goes back to the list it was
// posted from; a bad status or note shows the list again with the problem.
func (c *Console) warningStatus(r *request) error {
	id := r.Param("id")
	if !web.IsID(id) {
		return r.fail(http.StatusNotFound, r.T("warnings.not_found"))
	}
	// The form carries the list's filter back; its own status field is the
	// follow-up's.
	back := func(k string) string {
		if k == "status" {
			k = "status_filter"
		}
		return r.FormValue(k)
	}
	_, err := c.Prevention.SetStatus(r.Request().Context(), r.who(), id, prevention.StatusInput{Status: r.FormValue("status"), Note: r.FormValue("note")})
	if apperr.KindOf(err) == apperr.ErrNotFound {
		return r.fail(http.StatusNotFound, r.T("warnings.not_found"))
	}
	if err != nil {
		status, msg, fields := r.problemOf(err)
		return c.warningsPage(r, status, back, withProblem(msg, fields...))
	}
	plans, err := c.warningPlans(r.Request().Context())
	if err != nil {
		return err
	}
	q := readWarningFilter(back, plans).query()
	q.Set("msg", "warning_saved")
	return r.Redirect(http.StatusSeeOther, "/console/warnings?"+q.Encode()+"#w-"+id)
}

// The what-if.

// ruleField is one number of a rules document that the what-if form lets
// a clerk change without writing JSON: an amount or rate, or a bracket's
// up_to (empty: no upper bound).
type ruleField struct {
	Path  string // as ParseRules names it under "rules.": causes.illness.deductible
	ID    string // the input's id: rule-causes-illness-deductible
	Label string
	Value string
	Open  bool // an up_to, where empty means no bound
	Bad   bool // the simulation named it
}

// ruleLeaf is one such number in a document: its path and value (nil for
// JSON null).
type ruleLeaf struct {
	segs  []any // string keys and int indexes
	path  string
	value *string
}

// ruleLeaves lists the numbers of a rules document in its order (the
// canonical order of DESIGN §5's defaults): every string that is a decimal,
// and every up_to, null or not. Lists of codes (categories, evidence,
// industries) are left to the JSON.
func ruleLeaves(doc []byte) ([]ruleLeaf, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var out []ruleLeaf
	var walk func(segs []any) error
	walk = func(segs []any) error {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		switch v := t.(type) {
		case json.Delim:
			switch v {
			case '{':
				for dec.More() {
					k, err := dec.Token()
					if err != nil {
						return err
					}
					if err := walk(append(slices.Clip(segs), k.(string))); err != nil {
						return err
					}
				}
			case '[':
				for i := 0; dec.More(); i++ {
					if err := walk(append(slices.Clip(segs), i)); err != nil {
						return err
					}
				}
			}
			_, err := dec.Token() // the closing delimiter
			return err
		case string:
			if _, err := decimal.NewFromString(v); err == nil && len(segs) > 0 {
				if _, isKey := segs[len(segs)-1].(string); isKey {
					s := v
					out = append(out, ruleLeaf{segs: segs, path: pathOf(segs), value: &s})
				}
			}
		case nil:
			if len(segs) > 0 && segs[len(segs)-1] == "up_to" {
				out = append(out, ruleLeaf{segs: segs, path: pathOf(segs)})
			}
		}
		return nil
	}
	if err := walk(nil); err != nil {
		return nil, err
	}
	return out, nil
}

// pathOf writes a path as ParseRules names fields: keys joined by dots,
// indexes in brackets.
func pathOf(segs []any) string {
	var b strings.Builder
	for _, s := range segs {
		switch v := s.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(v)
		case int:
			b.WriteString("[" + strconv.Itoa(v) + "]")
		}
	}
	return b.String()
}

// label names a rule's path in words: 因病 · 第 2 档 · 比例.
func (r *request) label(segs []any) string {
	var parts []string
	for i, s := range segs {
		switch v := s.(type) {
		case int:
			parts = append(parts, r.Tf("whatif.band", v+1))
		case string:
			parent := ""
			if i > 0 {
				parent, _ = segs[i-1].(string)
			}
			switch {
			case v == "causes", v == "brackets":
				// the cause's name, or the band's number, says it
			case parent == "causes":
				parts = append(parts, name(r.lang, "cause", v))
			case parent == "ratios":
				parts = append(parts, name(r.lang, "category", v))
			default:
				if w, ok := catalog[r.lang]["rule."+v]; ok {
					parts = append(parts, w)
				} else {
					parts = append(parts, v)
				}
			}
		}
	}
	return strings.Join(parts, " · ")
}

// ruleForm is the what-if form drawn from a rules document: base is the
// document the fields were drawn from (sent back, so that a change of a
// field is told from a change of the JSON), text the JSON the clerk sees,
// posted the values typed into the fields.
type ruleForm struct {
	Fields []ruleField
	Text   string
	Base   string
}

func (r *request) ruleForm(base []byte, text string, posted func(string) (string, bool), bad []apperr.FieldError) ruleForm {
	f := ruleForm{Text: text, Base: string(base)}
	leaves, _ := ruleLeaves(base)
	for _, l := range leaves {
		rf := ruleField{Path: l.path, ID: "rule-" + strings.NewReplacer(".", "-", "[", "-", "]", "").Replace(l.path), Label: r.label(l.segs),
			Open: l.segs[len(l.segs)-1] == "up_to"}
		if l.value != nil {
			rf.Value = *l.value
		}
		if posted != nil {
			if v, ok := posted("f." + l.path); ok {
				rf.Value = v
			}
		}
		rf.Bad = slices.ContainsFunc(bad, func(e apperr.FieldError) bool { return e.Field == "rules."+l.path })
		f.Fields = append(f.Fields, rf)
	}
	return f
}

// proposedRules is the rules document a submitted form asks for: the JSON
// of the text area ({} when emptied: the programme's defaults), with each
// field the clerk changed (its value differs from the document the form was
// drawn from) set at its path. Only malformed JSON is refused here; the
// rules themselves are checked by Simulate, as PUT …/rules checks them.
func proposedRules(text, base string, posted func(string) (string, bool)) (json.RawMessage, error) {
	var tree any = map[string]any{}
	if strings.TrimSpace(text) != "" {
		dec := json.NewDecoder(strings.NewReader(text))
		dec.UseNumber()
		if err := dec.Decode(&tree); err != nil || dec.More() {
			return nil, errBadJSON
		}
	}
	if _, ok := tree.(map[string]any); !ok {
		return nil, errBadJSON
	}
	leaves, _ := ruleLeaves([]byte(base))
	for _, l := range leaves {
		v, ok := posted("f." + l.path)
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		was := ""
		if l.value != nil {
			was = *l.value
		}
		if v == was {
			continue
		}
		var val any = v
		if v == "" && l.segs[len(l.segs)-1] == "up_to" {
			val = nil // no upper bound
		}
		tree = setPath(tree, l.segs, val)
	}
	return json.Marshal(tree)
}

var errBadJSON = errors.New("the rules are not a JSON object")

// setPath sets v at segs inside tree, making the objects on the way that
// are missing; an index past a list's end changes nothing.
func setPath(tree any, segs []any, v any) any {
	if len(segs) == 0 {
		return v
	}
	switch s := segs[0].(type) {
	case string:
		m, ok := tree.(map[string]any)
		if !ok {
			m = map[string]any{}
		}
		m[s] = setPath(m[s], segs[1:], v)
		return m
	case int:
		l, ok := tree.([]any)
		if !ok || s >= len(l) {
			return tree
		}
		l[s] = setPath(l[s], segs[1:], v)
		return l
	}
	return tree
}

// simLine is one line of a simulation's result: a county's or a cause's
// totals, or the plan's.
type simLine struct {
	Code, Name                 string
	Current, Simulated, Change int64 // fen
}

// proposedChange is a number the proposed rules change.
type proposedChange struct {
	Label, Current, Proposed string
}

type whatifData struct {
	Plans []policies.Plan
	Plan  policies.Plan
	Form  ruleForm
	Sim   *prevention.Simulation
	Total simLine
	// HouseholdsChange is households reached, simulated − current.
	HouseholdsChange int
	Counties         []simLine
	Causes           []simLine
	Changes          []proposedChange
	XLSX             string // the workbook's link
}

// whatifPlan is the plan of ?plan= (or of the form), the first 防贫保 plan
// when none is chosen.
func (c *Console) whatifPlan(ctx context.Context, code string) ([]policies.Plan, policies.Plan, error) {
	plans, _, err := c.planList(ctx)
	if err != nil {
		return nil, policies.Plan{}, err
	}
	if code == "" {
		return plans, defaultPlan(plans), nil
	}
	if i := slices.IndexFunc(plans, func(p policies.Plan) bool { return p.Code == code }); i >= 0 {
		return plans, plans[i], nil
	}
	return plans, policies.Plan{}, apperr.New(apperr.ErrNotFound, "no plan %q", code)
}

func (c *Console) whatif(r *request) error {
	plans, p, err := c.whatifPlan(r.Request().Context(), r.QueryParam("plan"))
	if err != nil {
		return err
	}
	d := whatifData{Plans: plans, Plan: p}
	if p.Code != "" {
		current, _ := json.Marshal(p.Rules)
		d.Form = r.ruleForm(current, indentJSON(current), nil, nil)
	}
	return r.render(http.StatusOK, "whatif", "whatif.title", "nav.whatif", d)
}

// runWhatif simulates the rules of the form with Simulate, the method of
// POST /api/v1/plans/{code}/simulations, and shows the result beside the
// form, which then holds the rules simulated. Rules that Simulate refuses
// show the form again as typed, with every field it named (422).
func (c *Console) runWhatif(r *request) error {
	ctx := r.Request().Context()
	plans, p, err := c.whatifPlan(ctx, r.FormValue("plan"))
	if err != nil {
		return err
	}
	form, err := r.FormParams()
	if err != nil {
		return err
	}
	posted := func(k string) (string, bool) {
		v, ok := form[k]
		if !ok || len(v) == 0 {
			return "", false
		}
		return v[0], true
	}
	d := whatifData{Plans: plans, Plan: p}
	text, base := r.FormValue("rules"), r.FormValue("base")
	if _, err := ruleLeaves([]byte(base)); err != nil || strings.TrimSpace(base) == "" {
		current, _ := json.Marshal(p.Rules) // a form this page did not draw: its fields are the plan's
		base = string(current)
	}
	raw, err := proposedRules(text, base, posted)
	if err == nil {
		var sim prevention.Simulation
		if sim, err = c.Prevention.Simulate(ctx, r.who(), p.Code, raw); err == nil {
			return r.render(http.StatusOK, "whatif", "whatif.title", "nav.whatif", r.whatifResult(d, sim))
		}
	}
	status, msg, fields := r.problemOf(err)
	if errors.Is(err, errBadJSON) {
		status, msg = http.StatusUnprocessableEntity, r.T("err.validation_failed")
		fields = []apperr.FieldError{{Field: "rules", Message: r.T("whatif.bad_json")}}
	}
	d.Form = r.ruleForm([]byte(base), text, posted, fields)
	return r.render(status, "whatif", "whatif.title", "nav.whatif", d, withProblem(msg, fields...))
}

// whatifResult is the page of a simulation that ran: its totals, the
// lines by county and cause, the numbers it changed, and the form drawn
// from the rules simulated.
func (r *request) whatifResult(d whatifData, sim prevention.Simulation) whatifData {
	proposed, _ := json.Marshal(sim.Rules)
	current, _ := json.Marshal(d.Plan.Rules)
	d.Sim = &sim
	d.Form = r.ruleForm(proposed, indentJSON(proposed), nil, nil)
	line := func(code, name string, cur, simulated int64) simLine {
		return simLine{Code: code, Name: name, Current: cur, Simulated: simulated, Change: simulated - cur}
	}
	d.HouseholdsChange = sim.HouseholdsSimulated - sim.HouseholdsCurrent
	d.Total = line(sim.Plan, d.Plan.Name, sim.CurrentTotal.Fen(), sim.SimulatedTotal.Fen())
	for _, l := range sim.ByCounty {
		d.Counties = append(d.Counties, line(l.CountyCode, name(r.lang, "county", l.CountyCode), l.Current.Fen(), l.Simulated.Fen()))
	}
	for _, l := range sim.ByCause {
		d.Causes = append(d.Causes, line(l.Cause, name(r.lang, "cause", l.Cause), l.Current.Fen(), l.Simulated.Fen()))
	}
	before, _ := ruleLeaves(current)
	was := map[string]string{}
	for _, l := range before {
		was[l.path] = r.leafText(l)
	}
	after, _ := ruleLeaves(proposed)
	for _, l := range after {
		if now := r.leafText(l); was[l.path] != now {
			d.Changes = append(d.Changes, proposedChange{Label: r.label(l.segs), Current: was[l.path], Proposed: now})
		}
	}
	d.XLSX = "/console/whatif/simulation.xlsx?" + url.Values{"plan": {sim.Plan}, "rules": {string(proposed)}}.Encode()
	return d
}

// leafText is a rule's number as the changes list shows it.
func (r *request) leafText(l ruleLeaf) string {
	if l.value == nil {
		return r.T("whatif.no_bound")
	}
	return *l.value
}

// whatifWorkbook is the simulation of the rules in the link as a workbook
// (Simulation.WriteXLSX, as ?format=xlsx of the API writes it).
func (c *Console) whatifWorkbook(r *request) error {
	ctx := r.Request().Context()
	_, p, err := c.whatifPlan(ctx, r.QueryParam("plan"))
	if err != nil {
		return err
	}
	sim, err := c.Prevention.Simulate(ctx, r.who(), p.Code, json.RawMessage(r.QueryParam("rules")))
	if err != nil {
		status, msg, fields := r.problemOf(err)
		return r.render(status, "error", "err.title", "", nil, withProblem(msg, fields...))
	}
	var b bytes.Buffer
	if err := sim.WriteXLSX(&b, p.Programme, p.Name); err != nil {
		return err
	}
	h := r.Response().Header()
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="simulation-%s.xlsx"`, p.Code))
	return r.Blob(http.StatusOK, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b.Bytes())
}

// indentJSON is a JSON document indented for the text area.
func indentJSON(doc []byte) string {
	var b bytes.Buffer
	if json.Indent(&b, doc, "", "  ") != nil {
		return string(doc)
	}
	return b.String()
}

var zhPrevention = map[string]string{
	"nav.warnings": "防贫预警",
	"nav.whatif":   "政策测算",

	"warnings.title":             "防贫预警",
	"warnings.intro":             "医保结算记录中尚无理赔、但按现行规则可以赔付的票据，按户（封顶对象）汇总。家庭收入等记录中没有的条件按符合计算，需走访核实。",
	"warnings.plan":              "计划",
	"warnings.status":            "状态",
	"warnings.county":            "区县",
	"warnings.all":               "全部",
	"warnings.apply":             "筛选",
	"warnings.none_plans":        "没有政康保或防贫保计划。",
	"warnings.empty":             "没有符合条件的预警。",
	"warnings.by_county":         "各区县预警",
	"warnings.count":             "预警数",
	"warnings.expected":          "预计应付",
	"warnings.total":             "合计",
	"warnings.people":            "受益人",
	"warnings.bills":             "票据",
	"warnings.followup":          "跟进",
	"warnings.details":           "票据与跟进记录",
	"warnings.settled_on":        "结算日期",
	"warnings.hospital":          "医院",
	"warnings.history":           "跟进记录",
	"warnings.no_history":        "尚无跟进记录。",
	"warnings.note":              "备注",
	"warnings.record":            "记录跟进",
	"warnings.save":              "保存",
	"warnings.not_found":         "没有这条预警。",
	"warnings.list":              "预警列表",
	"wstatus.open":               "待跟进",
	"wstatus.visited":            "已走访",
	"wstatus.claimed":            "已理赔",
	"wstatus.dismissed":          "不予跟进",
	"msg.warning_saved":          "跟进情况已记录。",
	"whatif.title":               "政策测算",
	"whatif.intro":               "用拟调整的规则重新测算计划中全部已计入的理赔（与理赔审核同一套规则），不改变任何数据。",
	"whatif.plan":                "计划",
	"whatif.choose":              "选择",
	"whatif.current":             "现行规则",
	"whatif.proposed":            "测算规则",
	"whatif.difference":          "差额",
	"whatif.rules":               "拟调整的规则",
	"whatif.fields":              "常用数值",
	"whatif.json":                "完整规则（JSON，可增删分档、类别等；清空即为项目默认规则）",
	"whatif.run":                 "开始测算",
	"whatif.result":              "测算结果",
	"whatif.total":               "赔付合计",
	"whatif.households":          "受益户数",
	"whatif.claims":              "测算件数",
	"whatif.changed":             "赔付金额变化的理赔",
	"whatif.by_county":           "按区县",
	"whatif.by_cause":            "按原因",
	"whatif.changes":             "规则变动",
	"whatif.no_changes":          "与现行规则相同。",
	"whatif.xlsx":                "下载测算表（XLSX）",
	"whatif.band":                "第 %d 档",
	"whatif.no_bound":            "不封顶",
	"whatif.bad_json":            "不是有效的 JSON 对象",
	"whatif.none_plans":          "没有计划。",
	"whatif.item":                "项目",
	"whatif.value":               "数值",
	"rule.deductible":            "起付线",
	"rule.annual_cap":            "年度封顶线",
	"rule.outpatient_annual_cap": "门诊年度封顶线",
	"rule.cap":                   "封顶线",
	"rule.prevention_line":       "防贫监测线",
	"rule.ratios":                "报销比例",
	"rule.rate":                  "比例",
	"rule.up_to":                 "上限",
	"rule.house_collapsed":       "房屋倒塌",
	"rule.per_room":              "每间",
	"rule.max":                   "最高",
	"rule.house_damaged":         "房屋损坏",
	"rule.death":                 "死亡",
	"rule.disability_grade1":     "一级伤残",
	"rule.property_loss":         "财产损失",
	"rule.premium_subsidy":       "保费补贴",
	"rule.rate_with_county":      "有县级补贴时比例",
	"rule.rate_without_county":   "无县级补贴时比例",
	"rule.loss_topup":            "理赔再奖补",
}

var enPrevention = map[string]string{
	"nav.warnings": "Early warnings",
	"nav.whatif":   "What-if",

	"warnings.title":             "Early warnings",
	"warnings.intro":             "Bills in the medical settlement records that no claim was filed for but that the current rules would pay, by cap subject. A condition the records do not carry (household income) is taken as met: the visit checks it.",
	"warnings.plan":              "Plan",
	"warnings.status":            "Status",
	"warnings.county":            "County",
	"warnings.all":               "All",
	"warnings.apply":             "Filter",
	"warnings.none_plans":        "There is no ZKB or FPB plan.",
	"warnings.empty":             "No warnings match.",
	"warnings.by_county":         "Warnings by county",
	"warnings.count":             "Warnings",
	"warnings.expected":          "Expected payable",
	"warnings.total":             "Total",
	"warnings.people":            "Beneficiaries",
	"warnings.bills":             "Bills",
	"warnings.followup":          "Follow-up",
	"warnings.details":           "Bills and follow-ups",
	"warnings.settled_on":        "Settled on",
	"warnings.hospital":          "Hospital",
	"warnings.history":           "Follow-ups",
	"warnings.no_history":        "No follow-up yet.",
	"warnings.note":              "Note",
	"warnings.record":            "Record a follow-up",
	"warnings.save":              "Save",
	"warnings.not_found":         "There is no such warning.",
	"warnings.list":              "Warnings",
	"wstatus.open":               "open",
	"wstatus.visited":            "visited",
	"wstatus.claimed":            "claimed",
	"wstatus.dismissed":          "dismissed",
	"msg.warning_saved":          "The follow-up is recorded.",
	"whatif.title":               "What-if",
	"whatif.intro":               "Re-assesses every counted claim of the plan under the proposed rules (the same rules code as the claims pipeline), changing nothing.",
	"whatif.plan":                "Plan",
	"whatif.choose":              "Choose",
	"whatif.current":             "Current rules",
	"whatif.proposed":            "Proposed rules",
	"whatif.difference":          "Difference",
	"whatif.rules":               "Proposed rules",
	"whatif.fields":              "Common numbers",
	"whatif.json":                "All rules (JSON: add or remove brackets, categories and so on; empty means the programme's defaults)",
	"whatif.run":                 "Simulate",
	"whatif.result":              "Result",
	"whatif.total":               "Total payable",
	"whatif.households":          "Households reached",
	"whatif.claims":              "Claims simulated",
	"whatif.changed":             "Claims whose payable changes",
	"whatif.by_county":           "By county",
	"whatif.by_cause":            "By cause",
	"whatif.changes":             "Rule changes",
	"whatif.no_changes":          "The same as the current rules.",
	"whatif.xlsx":                "Download the simulation (XLSX)",
	"whatif.band":                "band %d",
	"whatif.no_bound":            "no upper bound",
	"whatif.bad_json":            "is not a valid JSON object",
	"whatif.none_plans":          "There is no plan.",
	"whatif.item":                "Item",
	"whatif.value":               "Value",
	"rule.deductible":            "deductible",
	"rule.annual_cap":            "annual cap",
	"rule.outpatient_annual_cap": "outpatient annual cap",
	"rule.cap":                   "cap",
	"rule.prevention_line":       "prevention line",
	"rule.ratios":                "ratio",
	"rule.rate":                  "rate",
	"rule.up_to":                 "up to",
	"rule.house_collapsed":       "house collapsed",
	"rule.per_room":              "per room",
	"rule.max":                   "maximum",
	"rule.house_damaged":         "house damaged",
	"rule.death":                 "death",
	"rule.disability_grade1":     "disability grade 1",
	"rule.property_loss":         "property loss",
	"rule.premium_subsidy":       "premium subsidy",
	"rule.rate_with_county":      "rate with county subsidy",
	"rule.rate_without_county":   "rate without county subsidy",
	"rule.loss_topup":            "loss top-up",
}
