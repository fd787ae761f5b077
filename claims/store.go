package claims

// This file is the claims package's store: every statement on the tables it
// owns (claims, claim_approvals, idempotency_keys, cap_subjects). Functions
// take the caller's transaction; the services decide what is atomic. Other
// packages read and change claims only through the exported functions here.

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"huimin/internal/apperr"
	"huimin/internal/db"
	"huimin/internal/ids"
	"huimin/internal/money"
	"huimin/policies"
)

// State is what payouts reads and changes of a claim, under a row lock, in
// the transaction that also writes the ledger entry and audit record.
type State struct {
	ID             string
	Plan           string
	Programme      string
	Org            string
	BeneficiaryID  string
	CountyCode     string
	Status         string
	Payable        int64 // fen
	Reserved       bool
	ReservedAmount int64 // fen
}

func stateOf(r record) State {
	return State{
		ID: r.ID, Plan: r.PlanCode, Programme: r.Programme, Org: r.Org, BeneficiaryID: r.BeneficiaryID,
		CountyCode: r.CountyCode, Status: r.Status, Payable: r.Payable, Reserved: r.Reserved, ReservedAmount: r.ReservedAmount,
	}
}

// SaveState writes a claim's status and reservation; whether it still counts
// toward accumulation and caps follows from the status.
func SaveState(ctx context.Context, tx *gorm.DB, st State, now time.Time) error {
	return tx.WithContext(ctx).Model(&record{}).Where("id = ?", st.ID).Updates(map[string]any{
		"status": st.Status, "reserved": st.Reserved, "reserved_amount": st.ReservedAmount,
		"counted": counts(st.Status, nil), "updated_at": now.UnixMilli(),
	}).Error
}

// Read returns a claim's answer as of tx.
func Read(ctx context.Context, tx *gorm.DB, id string) (View, error) {
	var rec record
	err := tx.WithContext(ctx).Where("id = ?", id).Take(&rec).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return View{}, apperr.New(apperr.ErrNotFound, "no claim %s", id)
	}
	if err != nil {
		return View{}, err
	}
	approvals, err := loadApprovals(ctx, tx, []string{id})
	if err != nil {
		return View{}, err
	}
	v := []View{rec.view(approvals[id])}
	err = annotate(ctx, tx, v)
	return v[0], err
}

// Locked is a claim locked FOR UPDATE for a transition, with its whole row,
// so that the answer can be rendered without reading the claim again.
type Locked struct {
	State
	rec     record
	touched bool
}

// Lock locks claims FOR UPDATE in id order — one fixed order everywhere, so
// two transactions never wait on each other in a cycle — and returns those
// that exist, by id, each with its whole row so that an answer can be
// rendered without reading the claim again.
func Lock(ctx context.Context, tx *gorm.DB, ids []string) (map[string]*Locked, error) {
	var recs []record
	if err := tx.WithContext(ctx).Clauses(lockingUpdate).Where("id IN ?", ids).Order("id").Find(&recs).Error; err != nil {
		return nil, err
	}
	out := make(map[string]*Locked, len(recs))
	for _, r := range recs {
		out[r.ID] = &Locked{State: stateOf(r), rec: r}
	}
	return out, nil
}

// LockStates is Lock for transitions that need every claim: it returns
// their states in id order, and ErrNotFound for the first id that does not
// exist.
func LockStates(ctx context.Context, tx *gorm.DB, ids []string) ([]State, error) {
	sorted := slices.Sorted(slices.Values(ids))
	locked, err := Lock(ctx, tx, sorted)
	if err != nil {
		return nil, err
	}
	out := make([]State, 0, len(sorted))
	for _, id := range sorted {
		l, ok := locked[id]
		if !ok {
			return nil, apperr.New(apperr.ErrNotFound, "no claim %s", id)
		}
		out = append(out, l.State)
	}
	return out, nil
}

// View renders the claim as changed in l.State, with these approvals.
func (l *Locked) View(approvals []Approval, now time.Time) View {
	r := l.rec
	r.Status, r.Reserved, r.ReservedAmount = l.Status, l.Reserved, l.ReservedAmount
	switch {
	case l.touched:
		r.UpdatedAt = db.Bumped(l.rec.UpdatedAt, now.UnixMilli()) // what Touch stored
	case l.Status != l.rec.Status || l.ReservedAmount != l.rec.ReservedAmount:
		r.UpdatedAt = now.UnixMilli()
	}
	return r.view(approvals)
}

// Touched records that the transaction wrote the claim's row (Touch), so
// that its answer shows the new updated_at.
func (l *Locked) Touched() { l.touched = true }

// ApprovedUnreserved returns the ids of a plan's approved claims that hold no
// reservation yet (what a pro-rata settlement shares the budget among), in
// id order. They are read without a lock; lock them before deciding.
func ApprovedUnreserved(ctx context.Context, tx *gorm.DB, plan string) ([]string, error) {
	var ids []string
	err := tx.WithContext(ctx).Model(&record{}).Where("plan_code = ? AND status = ? AND reserved = ?", plan, Approved, false).
		Order("id").Pluck("id", &ids).Error
	return ids, err
}

// MoneyState is what the invariant check compares with a claim's entries.
type MoneyState struct {
	ID, Plan, Status string
	Reserved         bool
	ReservedAmount   int64 // fen
}

// MoneyStates returns every claim that holds or should hold money: reserved,
// or approved, disbursed, paid or declined.
func MoneyStates(ctx context.Context, tx *gorm.DB) ([]MoneyState, error) {
	var cs []struct {
		ID, PlanCode, Status string
		Reserved             bool
		ReservedAmount       int64
	}
	if err := tx.WithContext(ctx).Model(&record{}).Select("id, plan_code, status, reserved, reserved_amount").
		Where("reserved = ? OR status IN ?", true, []string{Approved, Disbursed, Paid, Declined}).
		Scan(&cs).Error; err != nil {
		return nil, err
	}
	out := make([]MoneyState, len(cs))
	for i, c := range cs {
		out[i] = MoneyState{ID: c.ID, Plan: c.PlanCode, Status: c.Status, Reserved: c.Reserved, ReservedAmount: c.ReservedAmount}
	}
	return out, nil
}

// Touch marks claims changed without changing their status: a first of two
// approvals writes the claim row it decided on, so that on a Galera cluster
// a second approval certified on another node conflicts with it instead of
// both committing without seeing each other (DESIGN §19). The row must
// really change — MariaDB neither updates nor certifies a row written with
// the values it has, as when a claim is approved in the millisecond it was
// assessed — so updated_at is bumped (db.Bump): now, or one past the stored
// value.
func Touch(ctx context.Context, tx *gorm.DB, ids []string, now time.Time) error {
	return tx.WithContext(ctx).Model(&record{}).Where("id IN ?", ids).Update("updated_at", db.Bump("updated_at", now.UnixMilli())).Error
}

// FirstApproved records the first of two approvals on the claim rows: one
// more approval counted (what the queue's number awaiting a second approver
// reads) and the row touched as Touch does, in one statement.
func FirstApproved(ctx context.Context, tx *gorm.DB, ids []string, now time.Time) error {
	return tx.WithContext(ctx).Model(&record{}).Where("id IN ?", ids).Updates(map[string]any{
		"approvals": gorm.Expr("approvals + 1"), "updated_at": now.UnixMilli(),
	}).Error
}

// ApprovalsOf returns the approvals of several claims, oldest first.
func ApprovalsOf(ctx context.Context, tx *gorm.DB, ids []string) (map[string][]Approval, error) {
	return loadApprovals(ctx, tx, ids)
}

// ApprovalRow is one approval to insert.
type ApprovalRow struct {
	ClaimID string
	Actor   string
	At      int64
}

// TableName is the approvals table.
func (ApprovalRow) TableName() string { return "claim_approvals" }

// AddApprovals records approvals. The primary key (claim_id, actor) makes a
// second approval by the same actor impossible.
func AddApprovals(ctx context.Context, tx *gorm.DB, rows []ApprovalRow) error {
	if len(rows) == 0 {
		return nil
	}
	return tx.WithContext(ctx).Create(&rows).Error
}

// MarkApproved sets claims to approved in one statement: with their whole
// payable reserved (first_come) or unreserved (pro_rata, until settlement).
func MarkApproved(ctx context.Context, tx *gorm.DB, ids []string, reserve bool, now time.Time) error {
	set := map[string]any{"status": Approved, "counted": true, "updated_at": now.UnixMilli(), "approvals": gorm.Expr("approvals + 1")}
	if reserve {
		set["reserved"] = true
		set["reserved_amount"] = gorm.Expr("payable")
	}
	return tx.WithContext(ctx).Model(&record{}).Where("id IN ? AND status = ?", ids, Assessed).Updates(set).Error
}

// loadClaim reads one claim, of org when org is set (another org's claim is
// not found), locked FOR UPDATE when lock is set.
func loadClaim(ctx context.Context, tx *gorm.DB, org, id string, lock bool) (record, error) {
	var rec record
	q := tx.WithContext(ctx).Where("id = ?", id)
	if org != "" {
		q = q.Where("org = ?", org)
	}
	if lock {
		q = q.Clauses(lockingUpdate)
	}
	err := q.Take(&rec).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return rec, apperr.New(apperr.ErrNotFound, "no claim %s", id)
	}
	return rec, err
}

func loadApprovals(ctx context.Context, tx *gorm.DB, claimIDs []string) (map[string][]Approval, error) {
	var rows []struct {
		ClaimID, Actor string
		At             int64
	}
	if err := tx.WithContext(ctx).Table("claim_approvals").Where("claim_id IN ?", claimIDs).Order("at, actor").Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := map[string][]Approval{}
	for _, r := range rows {
		out[r.ClaimID] = append(out[r.ClaimID], Approval{Actor: r.Actor, At: timestamp(r.At)})
	}
	return out, nil
}

// listClaims reads one page of claims, newest first. Claim ids are ULIDs of
// the submission instant, so a date range is an id range on the primary key.
func listClaims(ctx context.Context, tx *gorm.DB, f Filter) ([]record, error) {
	q := tx.WithContext(ctx).Order("id DESC").Limit(f.Limit)
	for col, v := range map[string]string{"org": f.Org, "plan_code": f.Plan, "status": f.Status, "county_code": f.CountyCode, "beneficiary_id": f.BeneficiaryID} {
		if v != "" {
			q = q.Where(col+" = ?", v)
		}
	}
	if f.From != "" {
		q = q.Where("id >= ?", ids.Floor(f.From.Time()))
	}
	if f.To != "" {
		q = q.Where("id < ?", ids.Floor(f.To.AddDays(1).Time()))
	}
	if f.Before != "" {
		q = q.Where("id < ?", f.Before)
	}
	var recs []record
	err := q.Find(&recs).Error
	return recs, err
}

// saveStatus sets one claim's status; whether it still counts toward
// accumulation and caps follows from the status.
func saveStatus(ctx context.Context, tx *gorm.DB, id, status string, now time.Time) error {
	return tx.WithContext(ctx).Model(&record{}).Where("id = ?", id).Updates(map[string]any{
		"status": status, "counted": counts(status, nil), "updated_at": now.UnixMilli()}).Error
}

// claimsByRef reads the claims of org with these external refs.
func claimsByRef(ctx context.Context, tx *gorm.DB, org string, refs []string) ([]record, error) {
	var existing []record
	err := tx.WithContext(ctx).Where("org = ? AND external_ref IN ?", org, refs).Find(&existing).Error
	return existing, err
}

// claimIDByRef returns the id of org's claim with this external ref.
func claimIDByRef(ctx context.Context, tx *gorm.DB, org, ref string) (string, error) {
	var prev record
	err := tx.WithContext(ctx).Select("id").Where("org = ? AND external_ref = ?", org, ref).Take(&prev).Error
	return prev.ID, err
}

// claimColumns are the columns of a claim row, in the order claimValues
// lists a record's values.
const claimColumns = "id, plan_code, programme, org, external_ref, beneficiary_id, household_id, cap_subject, county_code, " +
	"event_date, cause, reference, service_type, facts, evidence, status, counted, base, fact_base, request_hash, payable, " +
	"reserved, reserved_amount, reasons, breakdown, rules_version, approvals, submitted_at, updated_at"

const claimColumnCount = 29

var claimColumnList = strings.Split(claimColumns, ", ")

// claimValues appends r's values in the order of claimColumns.
func claimValues(args []any, r *record) []any {
	return append(args, r.ID, r.PlanCode, r.Programme, r.Org, r.ExternalRef, r.BeneficiaryID, r.HouseholdID, r.CapSubject,
		r.CountyCode, r.EventDate, r.Cause, r.Reference, r.ServiceType, r.Facts, r.Evidence, r.Status, r.Counted, r.Base,
		r.FactBase, r.RequestHash, r.Payable, r.Reserved, r.ReservedAmount, r.Reasons, r.Breakdown, r.RulesVersion,
		r.Approvals, r.SubmittedAt, r.UpdatedAt)
}

// claimsPerInsert bounds one statement: 500 rows of about 2 KB stay far
// under the packet limit.
const claimsPerInsert = 500

// insertClaims inserts new claims with multi-row statements (db.InsertRows).
func insertClaims(ctx context.Context, tx *gorm.DB, recs []*record) error {
	return db.InsertRows(ctx, tx, "claims", claimColumnList, len(recs), claimsPerInsert, func(args []any, i int) []any {
		return claimValues(args, recs[i])
	})
}

// idemRecord remembers the answer given to an idempotency key. The answer
// is kept by reference: ClaimID names the claim the request created, and a
// replay renders that claim again as it was filed (filedAnswer), byte for
// byte the first answer, instead of storing a second copy of it. Response
// holds a whole answer only in rows written before answers were kept by
// reference; a replay still answers those from the stored copy.
type idemRecord struct {
	Org         string `gorm:"primaryKey"`
	IdemKey     string `gorm:"primaryKey"`
	RequestHash string
	ClaimID     string
	StatusCode  int
	Response    string
	CreatedAt   int64 `gorm:"autoCreateTime:false"`
}

func (idemRecord) TableName() string { return "idempotency_keys" }

// Answer is a stored or fresh answer to a claim submission.
type Answer struct {
	Status   int
	Body     []byte
	Replayed bool
}

// filedView is the claim as the answer to its filing showed it. What a
// filing decides never changes afterwards (facts, evidence, reasons,
// breakdown, payable, rules version, submission time); what later events
// change is put back as it was: the status the filing gave (rejected when it
// found a reason, else assessed), nothing reserved, no approvals, updated
// when submitted.
func filedView(r record) View {
	v := r.view(nil)
	v.Status = Assessed
	if len(v.Reasons) > 0 {
		v.Status = Rejected
	}
	v.ReservedAmount = money.Fen(0)
	v.UpdatedAt = v.SubmittedAt
	return v
}

// filedAnswer is the answer to the filing of the claim id: the same bytes
// the first request got.
func filedAnswer(ctx context.Context, tx *gorm.DB, id string) ([]byte, error) {
	rec, err := loadClaim(ctx, tx, "", id, false)
	if err != nil {
		return nil, err
	}
	return json.Marshal(filedView(rec))
}

// answerOf is the stored answer of st: the old rows' copy, or the claim it
// names rendered as filed.
func answerOf(ctx context.Context, tx *gorm.DB, st idemRecord) (Answer, error) {
	if st.Response != "" {
		return Answer{Status: st.StatusCode, Body: []byte(st.Response), Replayed: true}, nil
	}
	body, err := filedAnswer(ctx, tx, st.ClaimID)
	if err != nil {
		return Answer{}, err
	}
	return Answer{Status: st.StatusCode, Body: body, Replayed: true}, nil
}

// storedAnswer reads the answer given to (org, key); found is false when the
// key is new.
func storedAnswer(ctx context.Context, tx *gorm.DB, org, key string) (r idemRecord, found bool, err error) {
	err = tx.WithContext(ctx).Where("org = ? AND idem_key = ?", org, key).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return r, false, nil
	}
	return r, err == nil, err
}

// insertAnswers remembers the answers given to idempotency keys.
func insertAnswers(ctx context.Context, tx *gorm.DB, rs []idemRecord) error {
	return db.InsertRows(ctx, tx, "idempotency_keys", answerColumns, len(rs), 0, func(args []any, i int) []any {
		r := &rs[i]
		return append(args, r.Org, r.IdemKey, r.RequestHash, r.ClaimID, r.StatusCode, r.Response, r.CreatedAt)
	})
}

// answerColumns are the idempotency keys' columns, in the order
// insertAnswers gives a record's values.
var answerColumns = []string{"org", "idem_key", "request_hash", "claim_id", "status_code", "response", "created_at"}

// loadHistory reads the counted claims of households, by household.
// Everything a claim is compared with (its duplicates, the incident, the cap
// subject, the offsets) is in its own household, so each claim looks only at
// its household's history, not at the whole chunk's. The rows are scanned
// by hand: a batch reads thousands, and GORM's reflection costs more than
// the query.
func loadHistory(ctx context.Context, tx *gorm.DB, households []string) (map[string][]policies.Prior, error) {
	rows, err := historyQuery(tx.WithContext(ctx), households).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	history := make(map[string][]policies.Prior, len(households))
	for rows.Next() {
		var p policies.Prior
		if err := rows.Scan(&p.Plan, &p.Programme, &p.BeneficiaryID, &p.HouseholdID, &p.CapSubject, &p.EventDate,
			&p.Cause, &p.Reference, &p.ServiceType, &p.Base, &p.FactBase, &p.Payable); err != nil {
			return nil, err
		}
		history[p.HouseholdID] = append(history[p.HouseholdID], p)
	}
	return history, rows.Err()
}

// historyQuery selects the counted claims of households. On MariaDB it
// names the household index: with more households in the IN list than
// eq_range_index_dive_limit (200) the optimizer estimates from statistics,
// and on a table that grew since they were taken it chose a full scan (a
// batch chunk of 250 households read 34,000 rows to find about 900).
func historyQuery(tx *gorm.DB, households []string) *gorm.DB {
	table := "claims"
	if tx.Dialector.Name() == "mysql" {
		table = "claims FORCE INDEX (claims_household)"
	}
	return tx.Table(table).
		Select("plan_code, programme, beneficiary_id, household_id, cap_subject, event_date, cause, reference, service_type, base, fact_base, payable").
		Where("household_id IN ? AND counted = ?", households, true)
}

// lockHouseholds takes the households' cap locks in sorted order (so two
// transactions never wait on each other in a cycle). The lock rows are
// created on first use.
func lockHouseholds(ctx context.Context, tx *gorm.DB, households []string) error {
	rows := make([]capSubject, len(households))
	for i, h := range households {
		rows[i] = capSubject{CapSubject: h, Claims: 1}
	}
	// One statement both creates the lock rows and locks them: an upsert
	// that changes the row (claims = claims + 1) takes its exclusive lock,
	// held to commit, row by row in the sorted order given. A separate
	// SELECT ... FOR UPDATE after an insert deadlocked against concurrent
	// chunks; this cannot, and it saves a round trip.
	return tx.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "plan_code"}, {Name: "cap_subject"}},
		DoUpdates: clause.Assignments(map[string]any{"claims": gorm.Expr("claims + 1")}),
	}).Create(&rows).Error
}

// lockFreeHouseholds locks the households that no other transaction holds
// and returns them; the others are added to busy and not waited for.
// Concurrent batch chunks share some households nearly always (two random
// chunks of 250 from 28,000 households share two on average), and a chunk
// that waited for one of them waited for the other chunk's whole
// transaction: four batches at once ran one chunk at a time. Skipping them
// lets each chunk file the households it can have now.
//
// Households without a lock row yet (in the transaction's snapshot) get one
// first, in a statement of its own on d, outside the transaction
// (INSERT IGNORE, committed at once): a row that only the chunk's
// transaction created would be held by it to its commit, unseen by SKIP
// LOCKED, and a concurrent chunk creating the same row would wait for it.
// The rows are then locked with SELECT … FOR UPDATE SKIP LOCKED (MariaDB
// 10.6), which never waits. On a Galera node they are also written
// (claims = claims + 1) as lockHouseholds does: row locks do not reach the
// other nodes, so a concurrent chunk on another node must conflict at
// certification, which only rows written do. On a single server the locks
// are enough, and the write (6 ms of a chunk's 80 in the database) is left
// out.
func lockFreeHouseholds(ctx context.Context, d, tx *gorm.DB, households []string, busy map[string]bool, galera bool) ([]string, error) {
	want := make([]string, 0, len(households))
	for _, h := range households {
		if !busy[h] {
			want = append(want, h)
		}
	}
	if len(want) == 0 {
		return nil, nil
	}
	var exist []string
	if err := tx.WithContext(ctx).Raw("SELECT cap_subject FROM cap_subjects WHERE plan_code = '' AND cap_subject IN ?", want).
		Scan(&exist).Error; err != nil {
		return nil, err
	}
	if len(exist) < len(want) {
		existing := make(map[string]bool, len(exist))
		for _, h := range exist {
			existing[h] = true
		}
		var rows []capSubject
		for _, h := range want {
			if !existing[h] {
				rows = append(rows, capSubject{CapSubject: h})
			}
		}
		if err := d.WithContext(ctx).Clauses(clause.Insert{Modifier: "IGNORE"}).Create(&rows).Error; err != nil {
			return nil, err
		}
	}
	var got []string
	if err := tx.WithContext(ctx).Raw("SELECT cap_subject FROM cap_subjects WHERE plan_code = '' AND cap_subject IN ? "+
		"ORDER BY cap_subject FOR UPDATE SKIP LOCKED", want).Scan(&got).Error; err != nil {
		return nil, err
	}
	held := make(map[string]bool, len(got))
	for _, h := range got {
		held[h] = true
	}
	for _, h := range want {
		if !held[h] {
			busy[h] = true // another transaction holds it
		}
	}
	if len(got) > 0 && galera {
		if err := tx.WithContext(ctx).Exec("UPDATE cap_subjects SET claims = claims + 1 WHERE plan_code = '' AND cap_subject IN ?", got).Error; err != nil {
			return nil, err
		}
	}
	slices.Sort(got)
	return got, nil
}

// capSubject is a cap-subject lock row; households lock under plan_code "".
type capSubject struct {
	PlanCode   string `gorm:"primaryKey"`
	CapSubject string `gorm:"primaryKey"`
	Claims     int
}

func (capSubject) TableName() string { return "cap_subjects" }

// ApprovalState is what the invariant check compares with a claim's
// approvals: its status, payable, reservation and how many approvals it has.
type ApprovalState struct {
	ID, Plan, Status string
	Payable          int64 // fen
	Reserved         bool
	Approvals        int
}

// ApprovalStates returns every claim whose approvals could disagree with
// its status: each assessed claim that has an approval, and each approved,
// disbursed or paid claim, with its number of approvals. An assessed claim
// is found from its approvals (by primary key), not by scanning every
// assessed claim.
func ApprovalStates(ctx context.Context, tx *gorm.DB) ([]ApprovalState, error) {
	type row struct {
		ID, PlanCode, Status string
		Payable              int64
		Reserved             bool
		Approvals            int
	}
	var pending, decided []row
	if err := tx.WithContext(ctx).Table("claim_approvals AS a").Joins("JOIN claims AS c ON c.id = a.claim_id").
		Select("c.id, c.plan_code, c.status, c.payable, c.reserved, COUNT(*) AS approvals").
		Where("c.status = ?", Assessed).Group("c.id, c.plan_code, c.status, c.payable, c.reserved").Scan(&pending).Error; err != nil {
		return nil, err
	}
	if err := tx.WithContext(ctx).Table("claims AS c").Joins("LEFT JOIN claim_approvals AS a ON a.claim_id = c.id").
		Select("c.id, c.plan_code, c.status, c.payable, c.reserved, COUNT(a.actor) AS approvals").
		Where("c.status IN ?", []string{Approved, Disbursed, Paid}).Group("c.id, c.plan_code, c.status, c.payable, c.reserved").Scan(&decided).Error; err != nil {
		return nil, err
	}
	out := make([]ApprovalState, 0, len(pending)+len(decided))
	for _, r := range append(pending, decided...) {
		out = append(out, ApprovalState{ID: r.ID, Plan: r.PlanCode, Status: r.Status, Payable: r.Payable, Reserved: r.Reserved, Approvals: r.Approvals})
	}
	return out, nil
}

// MoveStatus sets claims that are in status from to status to, in one
// statement, and returns how many it changed; whether they count toward
// accumulation and caps follows from the status. The caller holds their
// locks (Lock) and has checked each, so a count short of len(ids) means a
// claim was not in from. A disbursement sets its thousands of claims aside
// this way (approved → disbursed), and back when it is cancelled.
func MoveStatus(ctx context.Context, tx *gorm.DB, ids []string, from, to string, now time.Time) (int64, error) {
	res := tx.WithContext(ctx).Model(&record{}).Where("id IN ? AND status = ?", ids, from).
		Updates(map[string]any{"status": to, "counted": counts(to, nil), "updated_at": now.UnixMilli()})
	return res.RowsAffected, res.Error
}
