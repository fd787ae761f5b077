package policies

import (
	"encoding/json"
	"slices"
	"sync"

	"github.com/shopspring/decimal"
)

// Programme codes (DESIGN §5). They are the values of a plan's "programme".
const (
	ZKB = "ZKB" // 政康保: medical top-up after the insurance layers
	ZFB = "ZFB" // 政福保: one-time disaster relief
	FPB = "FPB" // 防贫保: poverty prevention, tiered, by cause
	CYB = "CYB" // 产业保: re-subsidy for specialty agriculture
)

// Cap subjects: whose claims share the annual caps and accumulate together.
const (
	CapSubjectPerson    = "person"
	CapSubjectHousehold = "household"
)

// Causes of each programme. A claim's cause must be one of its programme's;
// a plan may still leave an FPB or CYB cause out of its rules.
const (
	CauseMedical        = "medical"         // ZKB
	CauseDisaster       = "disaster"        // ZFB, FPB
	CauseIllness        = "illness"         // FPB
	CauseEducation      = "education"       // FPB
	CauseAccident       = "accident"        // FPB
	CausePremiumSubsidy = "premium_subsidy" // CYB
	CauseLossTopup      = "loss_topup"      // CYB
)

// Programme describes one of the four programmes as GET /api/v1/programmes
// shows it: what it is, which causes a claim may name, whose caps it counts
// against and the rules a plan gets when its creator supplies none.
type Programme struct {
	Code         string          `json:"code"`
	Name         string          `json:"name"` // 政康保 etc, as the programme is known locally
	Kind         string          `json:"kind"` // medical_topup|disaster_relief|poverty_prevention|industry_subsidy
	Causes       []string        `json:"causes"`
	CapSubject   string          `json:"cap_subject"` // person|household
	DefaultRules json.RawMessage `json:"default_rules"`
}

// HasCause reports whether cause is one a claim under this programme may name.
func (p Programme) HasCause(cause string) bool { return slices.Contains(p.Causes, cause) }

// programmeSpec is everything programme-specific that does not hang on a
// rules value: the programme's description, its default rules, how its rules
// and facts are read and written, and what earlier claims mean for a new
// one. Each programme's file (zkb.go, zfb.go, fpb.go, cyb.go) defines one;
// the shared code reaches a programme only through programmeRegistry, so a
// new programme is one new file and one line there.
type programmeSpec struct {
	// Programme is the description without DefaultRules, which is rendered
	// from defaults on demand.
	Programme
	// defaults are the DESIGN §5 default rules, verbatim: the base every
	// admin change is merged onto.
	defaults string
	// notAdmitted is the eligibility reason of a beneficiary the rules do
	// not cover: not_covered_category, or residency_not_eligible for ZFB,
	// which admits by residency. It is here rather than on the rules so that
	// a Rules value carrying no rules still gets the programme's reason.
	notAdmitted string
	// parseRules reads the merged rules tree with the shared checker and
	// returns the Rules carrying this programme's typed rules.
	parseRules func(c *ruleChecker, tree map[string]any) Rules
	// rulesOf returns this programme's typed rules inside r, nil when r
	// carries none (a nil pointer must not become a non-nil interface).
	rulesOf func(r Rules) programmeRules
	// factKeys lists the keys a facts object of cause may carry, in the
	// order they are written; nil for a cause the programme does not have.
	factKeys func(cause string) []string
	// readFacts reads and cross-checks the facts of f.Cause into f, every
	// error into r.
	readFacts func(r *factReader, f *Facts)
	// writeFacts renders f as a claim shows it: exactly the keys ParseFacts
	// reads back.
	writeFacts func(f Facts) orderedObject
	// reference is what the claim is for (see Facts.Reference).
	reference func(f Facts) string
	// base is the facts' own base (see Facts.Base).
	base func(f Facts) decimal.Decimal
	// accrue adds to s what the earlier counted claim q of the pending
	// claim's household means for p beyond what StandingOf does for every
	// programme (duplicates and the annual cap). own is true when q is of
	// p's plan and cap subject.
	accrue func(p Pending, q Prior, own bool, s *Standing)
}

// programmeRegistry holds the programmes in the order answers list them.
var programmeRegistry = []*programmeSpec{&zkbSpec, &zfbSpec, &fpbSpec, &cybSpec}

// specOf returns the programme with this code, or nil. A scan of four beats a
// map here and keeps the registry's order the only order.
func specOf(code string) *programmeSpec {
	for _, s := range programmeRegistry {
		if s.Code == code {
			return s
		}
	}
	return nil
}

// Programmes returns the four programmes in the order ZKB, ZFB, FPB, CYB, each
// with its canonical default rules. The slices are fresh copies.
func Programmes() []Programme {
	out := make([]Programme, len(programmeRegistry))
	for i, s := range programmeRegistry {
		out[i] = s.public()
	}
	return out
}

// ProgrammeByCode returns the programme with this code, or false when the code
// is not one of the four.
func ProgrammeByCode(code string) (Programme, bool) {
	if s := specOf(code); s != nil {
		return s.public(), true
	}
	return Programme{}, false
}

// public is the programme as answers show it, with copies callers may keep.
func (s *programmeSpec) public() Programme {
	p := s.Programme
	p.Causes = slices.Clone(p.Causes)
	p.DefaultRules = slices.Clone(defaultRulesRendered()[p.Code])
	return p
}

// defaultRulesRendered renders each programme's default rules once: intake
// looks programmes up for every claim, and the defaults never change.
var defaultRulesRendered = sync.OnceValue(func() map[string][]byte {
	out := make(map[string][]byte, len(programmeRegistry))
	for _, s := range programmeRegistry {
		raw, err := DefaultRules(s.Code).MarshalJSON()
		if err != nil {
			// The defaults are constants checked by tests; failing here is a bug.
			panic("policies: default rules of " + s.Code + ": " + err.Error())
		}
		out[s.Code] = raw
	}
	return out
})

// Categories are the registry categories of DESIGN §4 (建档立卡 statuses).
// Rules name them in eligible_categories; the registry accepts only these.
var Categories = []string{
	"illness_poverty",         // 因病致贫
	"disability_poverty",      // 因残致贫
	"rural_destitute",         // 农村特困人员
	"unstable_out_of_poverty", // 脱贫不稳定户
	"marginal_at_risk",        // 边缘易致贫户
	"sudden_hardship",         // 突发严重困难户
	"agri_operator",           // 特色农业经营主体
}

// ResidencyTypes are the residency kinds of DESIGN §4 that ZFB eligibility
// looks at.
var ResidencyTypes = []string{
	"hukou",            // 南阳户籍
	"residence_permit", // 居住证
	"labour_contract",  // 签订正式劳动合同务工
}

// Industries are the specialty-agriculture industries CYB knows. A plan may
// cover fewer; a claim naming one the plan leaves out is industry_not_covered.
var Industries = []string{"rose", "tea", "herb", "bee"}

// ServiceTypes are the ZKB service types; outpatient claims also count
// against outpatient_annual_cap.
var ServiceTypes = []string{"inpatient", "outpatient"}

// LossClasses are the ZFB loss classes, each with its own relief formula.
var LossClasses = []string{"house_collapsed", "house_damaged", "death", "disability", "property_loss"}
