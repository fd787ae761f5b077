package policies

import "slices"

// Eligibility reason codes that the rules decide (DESIGN §6 step 2). The
// claims pipeline adds the others (unknown_beneficiary, dates, area,
// duplicates) around them, in the order of §6.
const (
	ReasonNotCoveredCategory   = "not_covered_category"
	ReasonResidencyNotEligible = "residency_not_eligible"
	ReasonCauseNotCovered      = "cause_not_covered"
	ReasonAbovePreventionLine  = "above_prevention_line"
	ReasonIndustryNotCovered   = "industry_not_covered"
	ReasonEvidenceMissing      = "evidence_missing"
)

// EligibilityInput is what the rules need to decide eligibility. Categories
// and Residency are the beneficiary's entries valid on the event date (the
// caller resolves validity periods); EvidenceKinds are the kinds of the
// evidence items the claim carries.
type EligibilityInput struct {
	Rules         Rules
	Cause         string
	Facts         Facts
	Categories    []string
	Residency     []string
	EvidenceKinds []string
}

// CheckEligibility returns every rule-based reason the claim is not eligible,
// each at most once, in the order of DESIGN §6: not_covered_category (ZKB,
// FPB, CYB) or residency_not_eligible (ZFB), cause_not_covered,
// above_prevention_line (FPB), industry_not_covered (CYB), evidence_missing.
// An empty result means the rules would pay the claim. All reasons are
// returned rather than the first, so an insurer can fix a claim in one go.
func CheckEligibility(in EligibilityInput) []string {
	var reasons []string
	r := in.Rules
	t := r.typed()
	if t == nil || !t.admits(in.Categories, in.Residency) {
		notAdmitted := ReasonNotCoveredCategory
		if s := specOf(r.Programme); s != nil {
			notAdmitted = s.notAdmitted
		}
		reasons = append(reasons, notAdmitted)
	}
	covered := r.CoversCause(in.Cause) && in.Facts.Programme == r.Programme && in.Facts.Cause == in.Cause
	if !covered {
		reasons = append(reasons, ReasonCauseNotCovered)
	}
	// The programme's own fact checks (FPB's prevention line, CYB's
	// industries) come between the cause and the evidence, as in §6. They
	// look at the facts even when the cause is not covered, so that an
	// insurer learns every reason at once.
	if t != nil {
		reasons = append(reasons, t.factReasons(in.Facts)...)
	}
	// Evidence of a cause the plan does not cover is undefined; that claim
	// already fails with cause_not_covered.
	if covered && len(MissingEvidence(r, in.Cause, in.EvidenceKinds)) > 0 {
		reasons = append(reasons, ReasonEvidenceMissing)
	}
	return reasons
}

// MissingEvidence lists the evidence kinds the rules require for cause that
// are not among kinds, in the rules' order, so that the reason message can
// say what to add.
func MissingEvidence(r Rules, cause string, kinds []string) []string {
	var missing []string
	for _, k := range r.RequiredEvidence(cause) {
		if !slices.Contains(kinds, k) {
			missing = append(missing, k)
		}
	}
	return missing
}

func intersects(have, want []string) bool {
	for _, h := range have {
		if slices.Contains(want, h) {
			return true
		}
	}
	return false
}
