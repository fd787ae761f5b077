package policies

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"huimin/internal/apperr"
	"huimin/internal/audit"
	"huimin/internal/civil"
	"huimin/internal/db"
)

// Registry stores beneficiaries: the registry of DESIGN §4, written one
// person at a time (PUT) or in bulk (CSV import), read by the API and, in the
// claim's own transaction, by the claims pipeline (LoadBeneficiary).
type Registry struct {
	db  *db.DB
	now func() time.Time
	// imported counts the rows of committed imports by outcome; nil
	// until RegisterMetrics.
	imported *prometheus.CounterVec
}

// RegisterMetrics registers huimin_registry_import_rows_total on reg.
func (r *Registry) RegisterMetrics(reg prometheus.Registerer) {
	r.imported = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "huimin_registry_import_rows_total",
		Help: "People in registry imports, by outcome (created, updated, unchanged) and the bad rows (error).",
	}, []string{"outcome"})
	reg.MustRegister(r.imported)
}

// NewRegistry returns the registry service on d with clock now.
func NewRegistry(d *db.DB, now func() time.Time) *Registry { return &Registry{db: d, now: now} }

// beneficiaryRecord is a row of beneficiaries. Timestamps are Unix
// milliseconds set from the service's clock, never by GORM.
type beneficiaryRecord struct {
	IDNumber      string `gorm:"primaryKey"`
	IDType        string
	Name          string
	CountyCode    string
	HouseholdID   string
	PayoutAccount string
	Township      string
	Village       string
	BankName      string
	CreatedAt     int64 `gorm:"autoCreateTime:false"`
	UpdatedAt     int64 `gorm:"autoUpdateTime:false"`
}

func (beneficiaryRecord) TableName() string { return "beneficiaries" }

// beneficiaryGrantRecord is a row of beneficiary_grants: one category or
// residency period. ValidTo is "" when open-ended.
type beneficiaryGrantRecord struct {
	IDNumber  string `gorm:"primaryKey"`
	Kind      string `gorm:"primaryKey"` // RegistryKindCategory or RegistryKindResidency
	Value     string `gorm:"primaryKey"`
	ValidFrom string `gorm:"primaryKey"`
	ValidTo   string
}

func (beneficiaryGrantRecord) TableName() string { return "beneficiary_grants" }

// Sizes of the bulk writes. A chunk of people is one transaction: small
// enough to hold its locks briefly and to stay under SQLite's 32766 bound
// variables per statement (1000 people × 11 columns), large enough that an
// import of 100,000 rows takes a few dozen round trips, not 100,000.
const (
	registryChunk      = 1000
	registryGrantBatch = 2000 // 2000 grants × 5 columns per INSERT
)

// upsertBeneficiary overwrites the person columns of an existing row and
// keeps its created_at.
var upsertBeneficiary = clause.OnConflict{
	Columns:   []clause.Column{{Name: "id_number"}},
	DoUpdates: clause.AssignmentColumns([]string{"id_type", "name", "county_code", "household_id", "payout_account", "township", "village", "bank_name", "updated_at"}),
}

// LoadBeneficiary reads one registry record with its periods, in tx, so that
// a claim is assessed on exactly what its transaction sees. Periods are
// ordered by valid_from, then value. An absent id wraps apperr.ErrNotFound;
// no message repeats the id unmasked.
func LoadBeneficiary(ctx context.Context, tx *gorm.DB, idNumber string) (Beneficiary, error) {
	people, err := LoadBeneficiaries(ctx, tx, []string{idNumber})
	if err != nil {
		return Beneficiary{}, db.Translate(err)
	}
	b, ok := people[idNumber]
	if !ok {
		return Beneficiary{}, apperr.New(apperr.ErrNotFound, "no beneficiary %s in the registry", MaskID(idNumber))
	}
	return b, nil
}

// LoadBeneficiaries reads the registry records of ids with their periods
// (ordered by kind, valid_from, value) in one statement — one consistent
// snapshot even under READ COMMITTED, and one round trip — scanned without
// reflection, since claim intake runs it for every claim. Unknown ids are
// absent from the map.
func LoadBeneficiaries(ctx context.Context, tx *gorm.DB, ids []string) (map[string]Beneficiary, error) {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	rows, err := tx.WithContext(ctx).Raw(`SELECT b.id_number, b.id_type, b.name, b.county_code, b.household_id, b.payout_account,
		b.township, b.village, b.bank_name, g.kind, g.value, g.valid_from, g.valid_to
		FROM beneficiaries b LEFT JOIN beneficiary_grants g ON g.id_number = b.id_number
		WHERE b.id_number IN ? ORDER BY b.id_number, g.kind, g.valid_from, g.value`, ids).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string]Beneficiary, len(ids))
	for rows.Next() {
		var (
			b                          Beneficiary
			kind, value, from, validTo sql.NullString
		)
		if err := rows.Scan(&b.IDNumber, &b.IDType, &b.Name, &b.CountyCode, &b.HouseholdID, &b.PayoutAccount,
			&b.Township, &b.Village, &b.BankName, &kind, &value, &from, &validTo); err != nil {
			return nil, err
		}
		if prev, ok := out[b.IDNumber]; ok {
			b = prev
		}
		if kind.Valid { // a person without periods has the LEFT JOIN's one empty row
			g := Grant{Value: value.String, ValidFrom: civil.Date(from.String), ValidTo: civil.Date(validTo.String)}
			if kind.String == RegistryKindCategory {
				b.Categories = append(b.Categories, g)
			} else {
				b.Residency = append(b.Residency, g)
			}
		}
		out[b.IDNumber] = b
	}
	return out, rows.Err()
}

// Get reads one registry record (LoadBeneficiary outside a claim).
func (r *Registry) Get(ctx context.Context, idNumber string) (Beneficiary, error) {
	return LoadBeneficiary(ctx, r.db.DB, idNumber)
}

// Put creates or overwrites one beneficiary: the person's fields are
// replaced (created_at kept) and their periods replaced by b's, together
// with an audit record, in one transaction. b must be valid (Validate and no
// two periods of one kind and value starting the same day); otherwise the
// answer is a validation error and nothing is stored.
//
// created is decided on the rows the transaction locks. On MariaDB two
// concurrent first PUTs of one id (no row yet to lock) may both report
// created; the record is then the later one's, whole.
func (r *Registry) Put(ctx context.Context, who audit.Who, b Beneficiary) (created bool, err error) {
	_, created, err = r.put(ctx, who, b)
	return created, err
}

// put is Put that also returns the record as stored, read back in the same
// transaction, so the answer to a PUT is exactly what a GET then shows.
func (r *Registry) put(ctx context.Context, who audit.Who, b Beneficiary) (Beneficiary, bool, error) {
	if err := registryCheck(b).Err(); err != nil {
		return Beneficiary{}, false, err
	}
	now := r.now()
	var (
		stored  Beneficiary
		created bool
	)
	err := r.db.Tx(ctx, func(tx *gorm.DB) error {
		n, _, err := writeBeneficiaries(ctx, tx, []Beneficiary{b}, now, false)
		if err != nil {
			return err
		}
		created = n == 1
		outcome := "updated"
		if created {
			outcome = "created"
		}
		// The id is personal data: the audit log holds it masked (DESIGN §9).
		if err := audit.Write(ctx, tx, now, who, "beneficiary.put", MaskID(b.IDNumber), outcome); err != nil {
			return err
		}
		stored, err = LoadBeneficiary(ctx, tx, b.IDNumber)
		return err
	})
	if err != nil {
		return Beneficiary{}, false, db.Translate(err)
	}
	return stored, created, nil
}

// Import creates or overwrites many beneficiaries, each as Put does (person
// fields replaced, periods replaced), and counts the people created and
// updated. A person whose stored record and periods already are exactly the
// imported ones is not rewritten (updated_at kept) and counted in neither. Every person must be valid and appear once; otherwise the answer
// is a validation error naming people[i] and nothing is stored.
//
// People are written in chunks of registryChunk, one transaction each, so a
// person is never half-written; if a chunk fails, the chunks before it stay
// stored (importing the same people again is harmless), the counts returned
// are theirs, and the audit log records the partial import.
func (r *Registry) Import(ctx context.Context, who audit.Who, people []Beneficiary) (created, updated int, err error) {
	n, err := r.importPeople(ctx, who, people, 0)
	return n.Created, n.Updated, err
}

// ImportCounts counts the people of an import: created, updated, and found
// unchanged (stored exactly as imported, so not rewritten).
type ImportCounts struct {
	Created, Updated, Unchanged int
}

// importPeople is Import with the number of bad CSV rows the caller left
// out, which the audit record reports, and the unchanged people counted.
func (r *Registry) importPeople(ctx context.Context, who audit.Who, people []Beneficiary, badRows int) (ImportCounts, error) {
	var f apperr.Fields
	seen := make(map[string]int, len(people))
	for i, p := range people {
		if fs := registryCheck(p); len(fs) > 0 {
			f.Merge(fmt.Sprintf("people[%d]", i), fs)
		}
		if j, dup := seen[p.IDNumber]; dup {
			f.Add(fmt.Sprintf("people[%d].id_number", i), "repeats people[%d]; each person may appear once", j)
		}
		seen[p.IDNumber] = i
	}
	if err := f.Err(); err != nil {
		return ImportCounts{}, err
	}

	now := r.now()
	// Chunks in id order: concurrent imports then lock rows in the same
	// order and cannot deadlock on each other.
	sorted := slices.Clone(people)
	slices.SortFunc(sorted, func(a, b Beneficiary) int { return cmp.Compare(a.IDNumber, b.IDNumber) })
	outcome := func(n ImportCounts) string {
		return fmt.Sprintf("created=%d updated=%d unchanged=%d errors=%d", n.Created, n.Updated, n.Unchanged, badRows)
	}
	var total ImportCounts
	if len(sorted) == 0 {
		err := r.db.Tx(ctx, func(tx *gorm.DB) error {
			return audit.Write(ctx, tx, now, who, "beneficiary.import", "registry", outcome(total))
		})
		return total, err
	}
	for start := 0; start < len(sorted); start += registryChunk {
		chunk := sorted[start:min(start+registryChunk, len(sorted))]
		last := start+len(chunk) == len(sorted)
		var n ImportCounts // set by the attempt that commits; Tx may retry
		err := r.db.Tx(ctx, func(tx *gorm.DB) error {
			created, unchanged, err := writeBeneficiaries(ctx, tx, chunk, now, true)
			if err != nil {
				return err
			}
			n = ImportCounts{Created: created, Updated: len(chunk) - created - unchanged, Unchanged: unchanged}
			if !last {
				return nil
			}
			// The one audit record of a whole import commits with its last
			// chunk.
			return audit.Write(ctx, tx, now, who, "beneficiary.import", "registry", outcome(ImportCounts{
				Created: total.Created + n.Created, Updated: total.Updated + n.Updated, Unchanged: total.Unchanged + n.Unchanged,
			}))
		})
		if err != nil {
			if total.Created+total.Updated > 0 {
				r.auditPartialImport(ctx, who, "failed after "+outcome(total))
			}
			return total, err
		}
		total.Created += n.Created
		total.Updated += n.Updated
		total.Unchanged += n.Unchanged
	}
	return total, nil
}

// auditPartialImport records chunks committed by an import that then
// failed. It is best effort, outside the failed transaction and outside the
// request's cancellation (a client that hung up still left rows behind);
// the import's own error is what the caller reports.
func (r *Registry) auditPartialImport(ctx context.Context, who audit.Who, outcome string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	now := r.now()
	_ = r.db.Tx(ctx, func(tx *gorm.DB) error {
		return audit.Write(ctx, tx, now, who, "beneficiary.import", "registry", outcome)
	})
}

// writeBeneficiaries upserts people (distinct ids, sorted for a stable lock
// order when many) and replaces their periods, in tx, with a fixed number of
// statements whatever the number of people. It returns how many were new.
// With skipUnchanged, a person stored exactly as given (registryUnchanged)
// is not written, and counted in unchanged.
func writeBeneficiaries(ctx context.Context, tx *gorm.DB, people []Beneficiary, now time.Time, skipUnchanged bool) (created, unchanged int, err error) {
	tx = tx.WithContext(ctx)
	ids := make([]string, len(people))
	for i, p := range people {
		ids[i] = p.IDNumber
	}
	// Lock the rows we are about to decide "updated" on; an absent id is
	// serialised by the insert itself.
	var existing []string
	if err := tx.Model(&beneficiaryRecord{}).Clauses(clause.Locking{Strength: "UPDATE"}).
		Where("id_number IN ?", ids).Pluck("id_number", &existing).Error; err != nil {
		return 0, 0, err
	}
	created = len(people) - len(existing)
	if skipUnchanged && len(existing) > 0 {
		stored, err := LoadBeneficiaries(ctx, tx, existing)
		if err != nil {
			return 0, 0, err
		}
		changed := make([]Beneficiary, 0, len(people))
		for _, p := range people {
			if s, ok := stored[p.IDNumber]; ok && registryUnchanged(s, p) {
				continue
			}
			changed = append(changed, p)
		}
		unchanged = len(people) - len(changed)
		people = changed
		if len(people) == 0 {
			return created, unchanged, nil
		}
		ids = ids[:0]
		for _, p := range people {
			ids = append(ids, p.IDNumber)
		}
	}
	recs := make([]beneficiaryRecord, len(people))
	var grants []beneficiaryGrantRecord
	ms := now.UnixMilli()
	for i, p := range people {
		recs[i] = beneficiaryRecord{
			IDNumber: p.IDNumber, IDType: p.IDType, Name: p.Name, CountyCode: p.CountyCode,
			HouseholdID: p.HouseholdID, PayoutAccount: p.PayoutAccount,
			Township: p.Township, Village: p.Village, BankName: p.BankName,
			CreatedAt: ms, UpdatedAt: ms, // created_at is ignored for an existing row
		}
		grants = appendGrantRecords(grants, p.IDNumber, RegistryKindCategory, p.Categories)
		grants = appendGrantRecords(grants, p.IDNumber, RegistryKindResidency, p.Residency)
	}
	if err := tx.Clauses(upsertBeneficiary).Create(&recs).Error; err != nil {
		return 0, 0, registryWriteError(err)
	}
	if err := tx.Where("id_number IN ?", ids).Delete(&beneficiaryGrantRecord{}).Error; err != nil {
		return 0, 0, err
	}
	if len(grants) > 0 {
		if err := tx.CreateInBatches(&grants, registryGrantBatch).Error; err != nil {
			return 0, 0, registryWriteError(err)
		}
	}
	return created, unchanged, nil
}

// registryUnchanged reports whether stored (as LoadBeneficiaries reads it)
// already is b: the same person fields and the same periods of each kind,
// in any order, exact repeats counted once (they are stored once).
func registryUnchanged(stored, b Beneficiary) bool {
	sameGrants := func(a, b []Grant) bool {
		key := func(g, h Grant) int {
			return cmp.Or(cmp.Compare(g.ValidFrom, h.ValidFrom), cmp.Compare(g.Value, h.Value), cmp.Compare(g.ValidTo, h.ValidTo))
		}
		a = slices.Compact(slices.SortedFunc(slices.Values(a), key))
		b = slices.Compact(slices.SortedFunc(slices.Values(b), key))
		return slices.Equal(a, b)
	}
	return stored.IDType == b.IDType && stored.Name == b.Name && stored.CountyCode == b.CountyCode &&
		stored.HouseholdID == b.HouseholdID && stored.PayoutAccount == b.PayoutAccount &&
		stored.Township == b.Township && stored.Village == b.Village && stored.BankName == b.BankName &&
		sameGrants(stored.Categories, b.Categories) && sameGrants(stored.Residency, b.Residency)
}

// registryWriteError keeps the key out of a duplicate-key error, whose
// driver message quotes it ("Duplicate entry '411325…'"): unknown errors are
// logged, and id numbers must never reach the log. Validation and the row
// lock taken by the upsert make duplicates impossible; this is a safeguard.
func registryWriteError(err error) error {
	if db.IsDuplicate(err) {
		return errors.New("registry write hit a duplicate key (message withheld: it quotes an id number)")
	}
	return err
}

// appendGrantRecords appends the rows of one person's periods of one kind,
// each exact repeat once (the table's key would refuse the second).
func appendGrantRecords(rows []beneficiaryGrantRecord, idNumber, kind string, gs []Grant) []beneficiaryGrantRecord {
	for i, g := range gs {
		if slices.Contains(gs[:i], g) {
			continue
		}
		rows = append(rows, beneficiaryGrantRecord{IDNumber: idNumber, Kind: kind, Value: g.Value, ValidFrom: string(g.ValidFrom), ValidTo: string(g.ValidTo)})
	}
	return rows
}

// registryCheck is everything a record must satisfy to be stored: Validate,
// and no period clashes.
func registryCheck(b Beneficiary) apperr.Fields {
	f := b.Validate()
	return append(f, registryPeriodClashes(b)...)
}

// registryPeriodClashes names periods that repeat an earlier one's kind,
// value and valid_from with a different valid_to. A period is identified by
// its value and its start (the table's key), so two such periods would be
// one period with two ends; exact repeats are harmless and merge.
func registryPeriodClashes(b Beneficiary) apperr.Fields {
	var f apperr.Fields
	check := func(list, valueName string, gs []Grant) {
		for i, g := range gs {
			for j := range i {
				if h := gs[j]; h.Value == g.Value && h.ValidFrom == g.ValidFrom && h != g {
					f.Add(fmt.Sprintf("%s[%d].valid_to", list, i), "%s[%d] has the same %s and valid_from with another valid_to; one period cannot have two ends", list, j, valueName)
					break
				}
			}
		}
	}
	check("categories", "category", b.Categories)
	check("residency", "type", b.Residency)
	return f
}

// PayoutAccounts returns the payout account of each beneficiary ("" when
// none is on record), for a disbursement.
func PayoutAccounts(ctx context.Context, tx *gorm.DB, idNumbers []string) (map[string]string, error) {
	var rows []struct{ IDNumber, PayoutAccount string }
	if err := tx.WithContext(ctx).Model(&beneficiaryRecord{}).Select("id_number, payout_account").
		Where("id_number IN ?", idNumbers).Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.IDNumber] = r.PayoutAccount
	}
	return out, nil
}

// RegistryEntry is a registry record's person fields without its periods:
// what a roster prints about a payee (DESIGN §14, §15).
type RegistryEntry struct {
	IDNumber      string
	IDType        string
	Name          string
	CountyCode    string
	HouseholdID   string
	PayoutAccount string
	Township      string // "" when unknown
	Village       string // "" when unknown
	BankName      string // "" when unknown
}

// LoadRegistryEntries returns the person fields of each id on record, in
// tx, with one statement per registryChunk ids (a roster of 10000 payees is
// ten round trips, within every database's bound on placeholders). Unknown
// ids are absent from the map.
func LoadRegistryEntries(ctx context.Context, tx *gorm.DB, idNumbers []string) (map[string]RegistryEntry, error) {
	ids := slices.Compact(slices.Sorted(slices.Values(idNumbers)))
	out := make(map[string]RegistryEntry, len(ids))
	for start := 0; start < len(ids); start += registryChunk {
		var recs []beneficiaryRecord
		if err := tx.WithContext(ctx).Where("id_number IN ?", ids[start:min(start+registryChunk, len(ids))]).Find(&recs).Error; err != nil {
			return nil, db.Translate(err)
		}
		for _, r := range recs {
			out[r.IDNumber] = RegistryEntry{
				IDNumber: r.IDNumber, IDType: r.IDType, Name: r.Name, CountyCode: r.CountyCode, HouseholdID: r.HouseholdID,
				PayoutAccount: r.PayoutAccount, Township: r.Township, Village: r.Village, BankName: r.BankName,
			}
		}
	}
	return out, nil
}
