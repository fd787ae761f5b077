// Package ledger is the money of every plan: its budget row and its
// append-only, hash-chained ledger (DESIGN §8), with the exports, the chain's
// verification and the ledger's own invariant checks.
//
// It is the only code that writes the budgets and ledger_entries tables, and
// other packages read them only through its functions. Plans (funding) and
// payouts (reserve, release, disburse, pay, fail) move money through Append,
// inside their own transaction, so a state change and its ledger entry commit
// together. Append locks the plan's budget row, which serialises a plan's
// entries: seq has no gaps and the chain has one head.
package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"huimin/internal/apperr"
	"huimin/internal/money"
)

// Accounts of a plan.
const (
	Funding   = "funding"
	Available = "available"
	Reserved  = "reserved"
	InPayment = "in_payment"
	Paid      = "paid"
)

// Kinds of entry and the accounts each moves money between.
const (
	Fund     = "fund"
	Reserve  = "reserve"
	Release  = "release"
	Disburse = "disburse"
	Pay      = "pay"
	Fail     = "fail"
)

// Flow is the (from, to) pair of each kind.
var Flow = map[string][2]string{
	Fund:     {Funding, Available},
	Reserve:  {Available, Reserved},
	Release:  {Reserved, Available},
	Disburse: {Reserved, InPayment},
	Pay:      {InPayment, Paid},
	Fail:     {InPayment, Reserved},
}

// GenesisHash is prev_hash of seq 1.
var GenesisHash = strings.Repeat("0", 64)

// TimeLayout is how `at` appears in the canonical string and in exports.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// Entry is one ledger row. Rows are inserted, never updated or deleted.
type Entry struct {
	PlanCode      string `gorm:"primaryKey"`
	Seq           int64  `gorm:"primaryKey;autoIncrement:false"`
	Kind          string
	ClaimID       string
	Amount        int64 // fen
	FromAccount   string
	ToAccount     string
	Actor         string
	At            int64 // Unix ms
	BeneficiaryID string
	CountyCode    string
	Reference     string
	PrevHash      string
	Hash          string
}

// TableName is the ledger table.
func (Entry) TableName() string { return "ledger_entries" }

// Budget is a plan's budget row: its balances and its ledger head.
type Budget struct {
	PlanCode    string `gorm:"primaryKey"`
	Funded      int64
	Available   int64
	Reserved    int64
	InPayment   int64
	Paid        int64
	LastSeq     int64
	LastHash    string
	Settlements int
	UpdatedAt   int64 `gorm:"autoUpdateTime:false"`
}

// TableName is the budget table.
func (Budget) TableName() string { return "budgets" }

// Canonical is the string the hash covers (DESIGN §8):
// seq|plan|kind|claim_id|amount|from_account|to_account|actor|at.
func Canonical(seq int64, plan, kind, claimID string, amountFen int64, from, to, actor string, atMs int64) string {
	return strings.Join([]string{
		strconv.FormatInt(seq, 10), plan, kind, claimID, money.String(money.FromFen(amountFen)),
		from, to, actor, time.UnixMilli(atMs).UTC().Format(TimeLayout),
	}, "|")
}

// ChainHash is hex(sha256(prev_hash + "|" + canonical)).
func ChainHash(prevHash, canonical string) string {
	h := sha256.Sum256([]byte(prevHash + "|" + canonical))
	return hex.EncodeToString(h[:])
}

// Canonical returns e's canonical string.
func (e Entry) Canonical() string {
	return Canonical(e.Seq, e.PlanCode, e.Kind, e.ClaimID, e.Amount, e.FromAccount, e.ToAccount, e.Actor, e.At)
}

// Move is one movement to append.
type Move struct {
	// Actor who made this movement; empty means Append's actor. A group
	// of approvals appends the moves of several actors in one call, in
	// the order they were decided, each entry naming its own actor.
	Actor         string
	Kind          string
	Amount        int64 // fen, > 0
	ClaimID       string
	BeneficiaryID string
	CountyCode    string
	Reference     string
}

// Open creates a plan's budget row with zero balances and an empty chain.
func Open(ctx context.Context, tx *gorm.DB, plan string, now time.Time) error {
	return tx.WithContext(ctx).Create(&Budget{PlanCode: plan, LastHash: GenesisHash, UpdatedAt: now.UnixMilli()}).Error
}

// Lock reads a plan's budget row FOR UPDATE (on SQLite the immediate
// transaction already holds the write lock).
func Lock(ctx context.Context, tx *gorm.DB, plan string) (Budget, error) {
	var b Budget
	err := tx.WithContext(ctx).Clauses(clause.Locking{Strength: "UPDATE"}).Where("plan_code = ?", plan).Take(&b).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return b, apperr.New(apperr.ErrNotFound, "no budget for plan %s", plan)
	}
	return b, err
}

// Get reads a plan's budget row without locking.
func Get(ctx context.Context, tx *gorm.DB, plan string) (Budget, error) {
	var b Budget
	err := tx.WithContext(ctx).Where("plan_code = ?", plan).Take(&b).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return b, apperr.New(apperr.ErrNotFound, "no budget for plan %s", plan)
	}
	return b, err
}

// apply moves amt along kind's flow in b, refusing to overdraw any account.
func apply(b *Budget, kind string, amt int64) error {
	acct := map[string]*int64{Available: &b.Available, Reserved: &b.Reserved, InPayment: &b.InPayment, Paid: &b.Paid}
	flow, ok := Flow[kind]
	if !ok || amt <= 0 {
		return fmt.Errorf("ledger: bad move %s %d", kind, amt)
	}
	if flow[0] == Funding {
		b.Funded += amt
	} else {
		from := acct[flow[0]]
		if *from < amt {
			if flow[0] == Available {
				return apperr.New(apperr.ErrBudgetExhausted, "plan %s has %s available, %s needed",
					b.PlanCode, money.String(money.FromFen(*from)), money.String(money.FromFen(amt)))
			}
			return fmt.Errorf("ledger: %s account of %s would go negative", flow[0], b.PlanCode)
		}
		*from -= amt
	}
	*acct[flow[1]] += amt
	return nil
}

// Append locks the plan's budget row, applies the moves in order, appends one
// chained entry per move (seq in the order given) and saves the row. A move that would overdraw
// `available` fails with ErrBudgetExhausted and the caller's transaction must
// roll back. Moves of zero fen are skipped: they move nothing.
func Append(ctx context.Context, tx *gorm.DB, plan, actor string, now time.Time, moves ...Move) (Budget, []Entry, error) {
	b, err := Lock(ctx, tx, plan)
	if err != nil {
		return b, nil, err
	}
	at := now.UnixMilli()
	entries := make([]Entry, 0, len(moves))
	for _, m := range moves {
		if m.Amount == 0 {
			continue
		}
		if err := apply(&b, m.Kind, m.Amount); err != nil {
			return b, nil, err
		}
		flow := Flow[m.Kind]
		by := m.Actor
		if by == "" {
			by = actor
		}
		e := Entry{
			PlanCode: plan, Seq: b.LastSeq + 1, Kind: m.Kind, ClaimID: m.ClaimID, Amount: m.Amount,
			FromAccount: flow[0], ToAccount: flow[1], Actor: by, At: at,
			BeneficiaryID: m.BeneficiaryID, CountyCode: m.CountyCode, Reference: m.Reference, PrevHash: b.LastHash,
		}
		if e.Kind == Fund {
			e.ClaimID = "" // the canonical claim_id of a fund entry is empty
		}
		e.Hash = ChainHash(e.PrevHash, e.Canonical())
		b.LastSeq, b.LastHash = e.Seq, e.Hash
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		return b, nil, nil
	}
	b.UpdatedAt = at
	if err := tx.WithContext(ctx).CreateInBatches(entries, 500).Error; err != nil {
		return b, nil, err
	}
	res := tx.WithContext(ctx).Model(&Budget{}).Where("plan_code = ?", plan).Updates(map[string]any{
		"funded": b.Funded, "available": b.Available, "reserved": b.Reserved, "in_payment": b.InPayment,
		"paid": b.Paid, "last_seq": b.LastSeq, "last_hash": b.LastHash, "updated_at": b.UpdatedAt,
	})
	if res.Error != nil {
		return b, nil, res.Error
	}
	return b, entries, nil
}

// Figures is a budget in answers (DESIGN §11): yuan strings.
type Figures struct {
	Funded    money.Amount `json:"funded"`
	Available money.Amount `json:"available"`
	Reserved  money.Amount `json:"reserved"`
	InPayment money.Amount `json:"in_payment"`
	Paid      money.Amount `json:"paid"`
}

// Figures renders b's balances.
func (b Budget) Figures() Figures {
	return Figures{
		Funded: money.Fen(b.Funded), Available: money.Fen(b.Available), Reserved: money.Fen(b.Reserved),
		InPayment: money.Fen(b.InPayment), Paid: money.Fen(b.Paid),
	}
}
