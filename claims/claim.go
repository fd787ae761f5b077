// Package claims takes claims from insurers — one by one with an idempotency
// key, or in batches — checks eligibility against the registry and the plan,
// assesses the payable through policies, and stores the outcome with its
// reasons and breakdown (DESIGN §6).
package claims

import (
	"encoding/json"
	"strings"

	"huimin/internal/money"
	"huimin/internal/web"
	"huimin/policies"
)

// Claim statuses (DESIGN §6).
const (
	Assessed  = "assessed"
	Approved  = "approved"
	Disbursed = "disbursed"
	Paid      = "paid"
	Rejected  = "rejected"
	Declined  = "declined"
	Withdrawn = "withdrawn"
)

// Statuses lists every status, for filters.
var Statuses = []string{Assessed, Approved, Disbursed, Paid, Rejected, Declined, Withdrawn}

// Reason codes of eligibility and assessment, in DESIGN §6's order.
const (
	ReasonUnknownBeneficiary   = "unknown_beneficiary"
	ReasonOutsideCoverage      = "outside_coverage_period"
	ReasonLateSubmission       = "late_submission"
	ReasonOutsidePlanArea      = "outside_plan_area"
	ReasonNotCoveredCategory   = "not_covered_category"
	ReasonResidencyNotEligible = "residency_not_eligible"
	ReasonCauseNotCovered      = "cause_not_covered"
	ReasonAbovePreventionLine  = "above_prevention_line"
	ReasonIndustryNotCovered   = "industry_not_covered"
	ReasonEvidenceMissing      = "evidence_missing"
	ReasonDuplicateClaim       = "duplicate_claim"
	ReasonAlreadyCompensated   = "already_compensated"
	ReasonNothingPayable       = "nothing_payable"
	ReasonAnnualCapReached     = "annual_cap_reached"
)

// reasonText explains each code to the people reading a rejected claim.
var reasonText = map[string]string{
	ReasonUnknownBeneficiary:   "the beneficiary is not in the registry",
	ReasonOutsideCoverage:      "the event date is outside the plan's coverage period",
	ReasonLateSubmission:       "the claim was submitted after the plan's filing window",
	ReasonOutsidePlanArea:      "the beneficiary's county is outside the plan's area",
	ReasonNotCoveredCategory:   "the beneficiary has no eligible category on the event date",
	ReasonResidencyNotEligible: "the beneficiary has no eligible residency on the event date",
	ReasonCauseNotCovered:      "the plan's rules do not cover this cause",
	ReasonAbovePreventionLine:  "the household income per capita is not below the prevention line",
	ReasonIndustryNotCovered:   "the plan does not cover this industry",
	ReasonEvidenceMissing:      "required evidence is missing",
	ReasonDuplicateClaim:       "the same claim was already submitted and counted",
	ReasonAlreadyCompensated:   "the household was already compensated for this incident",
	ReasonNothingPayable:       "nothing is payable under the plan's rules (the base still counts toward the deductible)",
	ReasonAnnualCapReached:     "the annual cap has no room left",
}

// Reason is one failing check.
type Reason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func reason(code string) Reason { return Reason{Code: code, Message: reasonText[code]} }

// Evidence is one supporting document: its kind, content hash and location.
type Evidence struct {
	Kind   string `json:"kind"`
	SHA256 string `json:"sha256"`
	URI    string `json:"uri,omitempty"`
}

// Approval is one finance actor's approval of a claim.
type Approval struct {
	Actor string `json:"actor"`
	At    string `json:"at"`
}

// record is a claims row.
type record struct {
	ID             string `gorm:"primaryKey"`
	PlanCode       string
	Programme      string
	Org            string
	ExternalRef    string
	BeneficiaryID  string
	HouseholdID    string // the cap household: household_id, or "self:"+id
	CapSubject     string // the person (ZKB, CYB) or the household (ZFB, FPB)
	CountyCode     string
	EventDate      string
	Cause          string
	Reference      string // bill_ref / incident_ref / primary_policy_no
	ServiceType    string
	Facts          string
	Evidence       string
	Status         string
	Counted        bool
	Base           int64 // fen, after offsets: what accumulates
	FactBase       int64 // fen, the base the facts state: what duplicates compare
	RequestHash    string
	Payable        int64
	Reserved       bool
	ReservedAmount int64
	Reasons        string
	Breakdown      string
	RulesVersion   int
	Approvals      int   // approvals given, for the queue's count of claims awaiting a second
	SubmittedAt    int64 `gorm:"autoCreateTime:false"`
	UpdatedAt      int64 `gorm:"autoUpdateTime:false"`
}

func (record) TableName() string { return "claims" }

// counts reports whether a claim in this state counts toward accumulation
// and caps (DESIGN §5).
func counts(status string, reasons []Reason) bool {
	switch status {
	case Assessed, Approved, Disbursed, Paid:
		return true
	case Rejected:
		return len(reasons) == 1 && reasons[0].Code == ReasonNothingPayable
	}
	return false
}

// View is a claim in answers (DESIGN §11).
type View struct {
	ID             string          `json:"id"`
	Plan           string          `json:"plan"`
	Programme      string          `json:"programme"`
	Org            string          `json:"org"`
	ExternalRef    string          `json:"external_ref"`
	BeneficiaryID  string          `json:"beneficiary_id"`
	HouseholdID    *string         `json:"household_id"`
	CountyCode     string          `json:"county_code"`
	EventDate      string          `json:"event_date"`
	Cause          string          `json:"cause"`
	Facts          json.RawMessage `json:"facts"`
	Evidence       []Evidence      `json:"evidence"`
	Status         string          `json:"status"`
	Payable        money.Amount    `json:"payable"`
	ReservedAmount money.Amount    `json:"reserved_amount"`
	Reasons        []Reason        `json:"reasons"`
	Breakdown      []policies.Step `json:"breakdown"`
	RulesVersion   int             `json:"rules_version"`
	Approvals      []Approval      `json:"approvals"`
	Notice         *NoticeRef      `json:"notice"`     // the notice (公示) it was published in; annotate fills it
	Objections     []ObjectionView `json:"objections"` // objections (异议), oldest first (DESIGN §14)
	SubmittedAt    string          `json:"submitted_at"`
	UpdatedAt      string          `json:"updated_at"`
}

// view renders a record with its approvals.
func (r record) view(approvals []Approval) View {
	v := r.head(approvals)
	_ = json.Unmarshal([]byte(r.Evidence), &v.Evidence)
	_ = json.Unmarshal([]byte(r.Reasons), &v.Reasons)
	_ = json.Unmarshal([]byte(r.Breakdown), &v.Breakdown)
	return v
}

// head is the view without the stored lists decoded (empty).
func (r record) head(approvals []Approval) View {
	v := View{
		ID: r.ID, Plan: r.PlanCode, Programme: r.Programme, Org: r.Org, ExternalRef: r.ExternalRef,
		BeneficiaryID: r.BeneficiaryID, CountyCode: r.CountyCode, EventDate: r.EventDate, Cause: r.Cause,
		Facts: json.RawMessage(r.Facts), Status: r.Status, Payable: money.Fen(r.Payable),
		ReservedAmount: money.Fen(r.ReservedAmount), RulesVersion: r.RulesVersion, Approvals: approvals,
		SubmittedAt: web.Timestamp(r.SubmittedAt), UpdatedAt: web.Timestamp(r.UpdatedAt),
		Evidence: []Evidence{}, Reasons: []Reason{}, Breakdown: []policies.Step{},
	}
	if r.HouseholdID != "" && !strings.HasPrefix(r.HouseholdID, selfHousehold) {
		h := r.HouseholdID
		v.HouseholdID = &h
	}
	if v.Approvals == nil {
		v.Approvals = []Approval{}
	}
	v.Objections = []ObjectionView{}
	return v
}

// filedJSON is json.Marshal(r.view(nil)) for a claim being filed, without
// decoding its evidence, reasons and breakdown from the columns they were
// just encoded into: those hold exactly what json.Marshal of the values
// writes, and go into the answer as they are. A single claim's answer was
// 7 % of the server's work on it in decoding them back.
// TestFiledJSONIsTheView holds the bytes to the view's.
func (r *record) filedJSON() ([]byte, error) {
	v := r.head(nil)
	return json.Marshal(filedJSONView{
		ID: v.ID, Plan: v.Plan, Programme: v.Programme, Org: v.Org, ExternalRef: v.ExternalRef, BeneficiaryID: v.BeneficiaryID,
		HouseholdID: v.HouseholdID, CountyCode: v.CountyCode, EventDate: v.EventDate, Cause: v.Cause, Facts: v.Facts,
		Evidence: rawList(r.Evidence), Status: v.Status, Payable: v.Payable, ReservedAmount: v.ReservedAmount,
		Reasons: rawList(r.Reasons), Breakdown: rawList(r.Breakdown), RulesVersion: v.RulesVersion, Approvals: v.Approvals,
		Notice: v.Notice, Objections: v.Objections, SubmittedAt: v.SubmittedAt, UpdatedAt: v.UpdatedAt,
	})
}

// rawList is a stored JSON list as it is, or [] when the column is empty
// (as view leaves a list it cannot decode).
func rawList(s string) json.RawMessage {
	if s == "" {
		return json.RawMessage("[]")
	}
	return json.RawMessage(s)
}

// filedJSONView is View with the stored lists raw: the same fields, names
// and order (TestFiledJSONIsTheView compares them).
type filedJSONView struct {
	ID             string          `json:"id"`
	Plan           string          `json:"plan"`
	Programme      string          `json:"programme"`
	Org            string          `json:"org"`
	ExternalRef    string          `json:"external_ref"`
	BeneficiaryID  string          `json:"beneficiary_id"`
	HouseholdID    *string         `json:"household_id"`
	CountyCode     string          `json:"county_code"`
	EventDate      string          `json:"event_date"`
	Cause          string          `json:"cause"`
	Facts          json.RawMessage `json:"facts"`
	Evidence       json.RawMessage `json:"evidence"`
	Status         string          `json:"status"`
	Payable        money.Amount    `json:"payable"`
	ReservedAmount money.Amount    `json:"reserved_amount"`
	Reasons        json.RawMessage `json:"reasons"`
	Breakdown      json.RawMessage `json:"breakdown"`
	RulesVersion   int             `json:"rules_version"`
	Approvals      []Approval      `json:"approvals"`
	Notice         *NoticeRef      `json:"notice"`
	Objections     []ObjectionView `json:"objections"`
	SubmittedAt    string          `json:"submitted_at"`
	UpdatedAt      string          `json:"updated_at"`
}

// selfHousehold prefixes the household key of a person without a household.
const selfHousehold = "self:"
