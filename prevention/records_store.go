package prevention

import (
	"context"
	"fmt"
	"slices"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"huimin/internal/audit"
	"huimin/internal/civil"
	"huimin/internal/ids"
	"huimin/policies"
)

// medicalRecord is a row of medical_records.
type medicalRecord struct {
	ID                    string `gorm:"primaryKey"`
	IDNumber              string
	BillRef               string
	SettledOn             string
	Hospital              string
	ServiceType           string
	TotalCost             int64
	PolicyScopeCost       int64
	BasicInsurancePaid    int64
	CriticalIllnessPaid   int64
	MedicalAssistancePaid int64
	SelfPay               int64
	ImportedAt            int64 `gorm:"autoCreateTime:false"`
}

func (medicalRecord) TableName() string { return "medical_records" }

func rowOf(r Record) medicalRecord {
	return medicalRecord{
		ID: r.ID, IDNumber: r.IDNumber, BillRef: r.BillRef, SettledOn: string(r.SettledOn), Hospital: r.Hospital,
		ServiceType: r.ServiceType, TotalCost: r.TotalCost, PolicyScopeCost: r.PolicyScopeCost,
		BasicInsurancePaid: r.BasicInsurancePaid, CriticalIllnessPaid: r.CriticalIllnessPaid,
		MedicalAssistancePaid: r.MedicalAssistancePaid, SelfPay: r.SelfPay, ImportedAt: r.ImportedAt,
	}
}

func (m medicalRecord) record() Record {
	return Record{
		ID: m.ID, IDNumber: m.IDNumber, BillRef: m.BillRef, SettledOn: civil.Date(m.SettledOn), Hospital: m.Hospital,
		ServiceType: m.ServiceType, TotalCost: m.TotalCost, PolicyScopeCost: m.PolicyScopeCost,
		BasicInsurancePaid: m.BasicInsurancePaid, CriticalIllnessPaid: m.CriticalIllnessPaid,
		MedicalAssistancePaid: m.MedicalAssistancePaid, SelfPay: m.SelfPay, ImportedAt: m.ImportedAt,
	}
}

// Sizes of an import's writes: one multi-row INSERT per recordBatch rows
// (13 columns: 13,000 placeholders, within SQLite's 32766 and MariaDB's
// 65535), recordTxRows rows per transaction, so that 100,000 records take
// ten commits, each holding its locks briefly.
const (
	recordBatch  = 1000
	recordTxRows = 10000
)

// ImportAnswer is the answer to POST /api/v1/medical-records/import.
type ImportAnswer struct {
	Created    int                 `json:"created"`
	Duplicates int                 `json:"duplicates"`
	Unmatched  int                 `json:"unmatched"`
	Errors     []policies.RowError `json:"errors"`
}

// ImportRecords reads a settlement record CSV (UTF-8 text; see
// ParseRecordsCSV) and stores its good rows: a row for a person who is not
// in the registry is unmatched and not stored; a row with the id_number and
// bill_ref of a record imported before, or of an earlier row of the file,
// is a duplicate and not stored (the first one stands). Rows are written in
// transactions of recordTxRows; the one audit record of the import commits
// with the last. Should a later transaction fail, the records before it
// stay (importing the file again counts them as duplicates) and the error
// is returned.
func (s *Service) ImportRecords(ctx context.Context, who audit.Who, text []byte) (ImportAnswer, error) {
	now := s.now()
	rows, errs := ParseRecordsCSV(text, civil.Today(now))
	ans := ImportAnswer{Errors: errs}
	if ans.Errors == nil {
		ans.Errors = []policies.RowError{}
	}

	people := make([]string, 0, len(rows))
	for _, r := range rows {
		people = append(people, r.IDNumber)
	}
	slices.Sort(people)
	people = slices.Compact(people)
	known, err := policies.Registered(ctx, s.db.DB, people)
	if err != nil {
		return ImportAnswer{}, err
	}
	type bill struct{ id, ref string }
	seen := make(map[bill]bool, len(rows))
	keep := make([]medicalRecord, 0, len(rows))
	for _, r := range rows {
		switch k := (bill{r.IDNumber, r.BillRef}); {
		case !known[r.IDNumber]:
			ans.Unmatched++
		case seen[k]:
			ans.Duplicates++
		default:
			seen[k] = true
			r.ID, r.ImportedAt = ids.New(now), now.UnixMilli()
			keep = append(keep, rowOf(r.Record))
		}
	}

	outcome := func(created, duplicates int) string {
		return fmt.Sprintf("created=%d duplicates=%d unmatched=%d errors=%d", created, duplicates, ans.Unmatched, len(ans.Errors))
	}
	for lo := 0; lo == 0 || lo < len(keep); lo += recordTxRows {
		chunk := keep[lo:min(lo+recordTxRows, len(keep))]
		last := lo+recordTxRows >= len(keep)
		var created int // set by the attempt that commits; Tx may retry
		err := s.db.Tx(ctx, func(tx *gorm.DB) error {
			created = 0
			for b := 0; b < len(chunk); b += recordBatch {
				batch := chunk[b:min(b+recordBatch, len(chunk))]
				// A record already stored (an earlier import, or one
				// committed meanwhile) is skipped by the key on
				// (id_number, bill_ref) and counted as a duplicate.
				res := tx.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&batch)
				if res.Error != nil {
					return res.Error
				}
				created += int(res.RowsAffected)
			}
			if !last {
				return nil
			}
			c, d := ans.Created+created, ans.Duplicates+len(chunk)-created
			return audit.Write(ctx, tx, now, who, "medical_record.import", "medical_records", outcome(c, d))
		})
		if err != nil {
			return ImportAnswer{}, err
		}
		ans.Created += created
		ans.Duplicates += len(chunk) - created
	}
	return ans, nil
}

// recordsSettled returns the records of the people idNumbers (every
// record when idNumbers is nil) settled from from to to, inclusive.
func recordsSettled(ctx context.Context, tx *gorm.DB, from, to civil.Date, idNumbers []string) ([]Record, error) {
	var out []Record
	scan := func(q *gorm.DB) error {
		var rows []medicalRecord
		if err := q.Where("settled_on >= ? AND settled_on <= ?", string(from), string(to)).Find(&rows).Error; err != nil {
			return err
		}
		for _, r := range rows {
			out = append(out, r.record())
		}
		return nil
	}
	if idNumbers == nil {
		return out, scan(tx.WithContext(ctx).Model(&medicalRecord{}))
	}
	for lo := 0; lo < len(idNumbers); lo += 1000 {
		if err := scan(tx.WithContext(ctx).Model(&medicalRecord{}).Where("id_number IN ?", idNumbers[lo:min(lo+1000, len(idNumbers))])); err != nil {
			return nil, err
		}
	}
	return out, nil
}
