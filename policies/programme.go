package policies

import (
	"encoding/json"
	"slices"
	"sync"
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

// programmeTable is the fixed part of each programme; default rules are
// rendered on demand so that callers always get a fresh copy they may keep.
var programmeTable = []Programme{
	{Code: ZKB, Name: "政康保", Kind: "medical_topup", Causes: []string{CauseMedical}, CapSubject: CapSubjectPerson},
	{Code: ZFB, Name: "政福保", Kind: "disaster_relief", Causes: []string{CauseDisaster}, CapSubject: CapSubjectHousehold},
	{Code: FPB, Name: "防贫保", Kind: "poverty_prevention", Causes: []string{CauseIllness, CauseEducation, CauseDisaster, CauseAccident}, CapSubject: CapSubjectHousehold},
	{Code: CYB, Name: "产业保", Kind: "industry_subsidy", Causes: []string{CausePremiumSubsidy, CauseLossTopup}, CapSubject: CapSubjectPerson},
}

// Programmes returns the four programmes in the order ZKB, ZFB, FPB, CYB, each
// with its canonical default rules. The slices are fresh copies.
func Programmes() []Programme {
	out := make([]Programme, len(programmeTable))
	for i := range programmeTable {
		out[i] = programmeAt(i)
	}
	return out
}

// ProgrammeByCode returns the programme with this code, or false when the code
// is not one of the four.
func ProgrammeByCode(code string) (Programme, bool) {
	for i := range programmeTable {
		if programmeTable[i].Code == code {
			return programmeAt(i), true
		}
	}
	return Programme{}, false
}

func programmeAt(i int) Programme {
	p := programmeTable[i]
	p.Causes = slices.Clone(p.Causes)
	p.DefaultRules = slices.Clone(defaultRulesRendered()[p.Code])
	return p
}

// defaultRulesRendered renders each programme's default rules once: intake
// looks programmes up for every claim, and the defaults never change.
var defaultRulesRendered = sync.OnceValue(func() map[string][]byte {
	out := make(map[string][]byte, len(programmeTable))
	for _, p := range programmeTable {
		raw, err := DefaultRules(p.Code).MarshalJSON()
		if err != nil {
			// The defaults are constants checked by tests; failing here is a bug.
			panic("policies: default rules of " + p.Code + ": " + err.Error())
		}
		out[p.Code] = raw
	}
	return out
})

// isProgrammeCause reports whether cause belongs to programme, without
// building the Programme value (used on hot paths).
func isProgrammeCause(programme, cause string) bool {
	for i := range programmeTable {
		if programmeTable[i].Code == programme {
			return slices.Contains(programmeTable[i].Causes, cause)
		}
	}
	return false
}

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
