package claims

// This file lets other packages ask what the pipeline would decide for a
// claim that has not been filed (DESIGN §20: the same rule code run on data
// that is not a claim, changing nothing): the early warnings turn a medical
// settlement record no one has claimed into a Prospect and call Judge.

import (
	"context"
	"time"

	"gorm.io/gorm"

	"huimin/internal/civil"
	"huimin/internal/money"
	"huimin/policies"
)

// Prospect is a claim that could be filed: its plan (whose Rules are
// applied), a beneficiary who is in the registry, and the claim's fields as
// intake would have typed them.
type Prospect struct {
	Plan          policies.Plan
	Beneficiary   policies.Beneficiary
	EventDate     civil.Date
	Cause         string
	Facts         policies.Facts
	EvidenceKinds []string
}

// Household is the prospect's cap household, as the pipeline keys the
// history (CountedHistory) and the household locks.
func (p Prospect) Household() string { return p.Beneficiary.CapHousehold() }

// Verdict is what the pipeline would decide for a Prospect.
type Verdict struct {
	Status  string   // Assessed or Rejected
	Reasons []string // reason codes in DESIGN §6's order; empty when assessed
	Counted bool     // it would count toward accumulation and caps
	Base    int64    // fen, as it would accumulate (0 unless assessed)
	Payable int64    // fen
	// Prior is what the claim, once counted, contributes to the later
	// claims of its household: append it to their history when Counted.
	Prior policies.Prior
}

// Judge decides p exactly as the pipeline decides a claim filed at now
// whose household's counted claims are history (CountedHistory, plus the
// Prior of every counted prospect judged before it), and stores nothing.
func Judge(p Prospect, history []policies.Prior, now time.Time) Verdict {
	household := p.Household()
	id := p.Beneficiary.IDNumber
	c := claimCase{
		plan: p.Plan, beneficiary: p.Beneficiary, known: true, beneficiaryID: id, household: household,
		subject: policies.CapSubjectOf(p.Plan.Programme, id, household), eventDate: p.EventDate, cause: p.Cause,
		facts: p.Facts, factBase: money.ToFen(money.Round(p.Facts.Base())), evidenceKinds: p.EvidenceKinds,
	}
	j := judge(c, history, now)
	v := Verdict{Status: j.status, Counted: j.counted, Base: j.base, Payable: j.payable, Prior: c.prior(j), Reasons: []string{}}
	for _, r := range j.reasons {
		v.Reasons = append(v.Reasons, r.Code)
	}
	return v
}

// CountedHistory returns the counted claims of the cap households, by
// household, as the pipeline reads them to decide a new claim (every plan's:
// offsets and once-per-incident rules look across plans), in tx.
func CountedHistory(ctx context.Context, tx *gorm.DB, households []string) (map[string][]policies.Prior, error) {
	out := make(map[string][]policies.Prior, len(households))
	// Chunks keep each IN list well under both databases' placeholder limits.
	for lo := 0; lo < len(households); lo += 1000 {
		h, err := loadHistory(ctx, tx, households[lo:min(lo+1000, len(households))])
		if err != nil {
			return nil, err
		}
		for k, v := range h {
			out[k] = v
		}
	}
	return out, nil
}
