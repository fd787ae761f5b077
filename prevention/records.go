package prevention

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"huimin/internal/apperr"
	"huimin/internal/civil"
	"huimin/internal/money"
	"huimin/internal/web"
	"huimin/policies"
)

// RecordsCSVHeader is the exact first line of a settlement record import
// (DESIGN §20).
const RecordsCSVHeader = "id_number,settled_on,hospital,service_type,bill_ref,total_cost,policy_scope_cost,basic_insurance_paid,critical_illness_paid,medical_assistance_paid,self_pay"

// Column positions of RecordsCSVHeader.
const (
	colIDNumber = iota
	colSettledOn
	colHospital
	colServiceType
	colBillRef
	colTotalCost
	colPolicyScopeCost
	colBasic
	colCritical
	colAssistance
	colSelfPay
	colCount
)

var recordColumns = strings.Split(RecordsCSVHeader, ",")

// HospitalMax is the longest hospital name in characters
// (medical_records.hospital is VARCHAR(200)).
const HospitalMax = 200

// Record is one medical settlement (医保结算) of a registered person: a bill
// after basic insurance, critical-illness insurance and medical assistance
// have paid their parts, and what the person paid. Amounts are fen.
type Record struct {
	ID                    string
	IDNumber              string
	SettledOn             civil.Date
	Hospital              string
	ServiceType           string // inpatient | outpatient
	BillRef               string
	TotalCost             int64
	PolicyScopeCost       int64
	BasicInsurancePaid    int64
	CriticalIllnessPaid   int64
	MedicalAssistancePaid int64
	SelfPay               int64
	ImportedAt            int64
}

// recordRow is a good row of an import and its line.
type recordRow struct {
	line int
	Record
}

// ParseRecordsCSV reads a settlement record import from UTF-8 text (with or
// without a byte order mark; policies.DecodeCSV makes it so from GBK).
// Cells are trimmed of surrounding spaces, as Excel pads them; rows whose
// cells are all empty are skipped. Every bad row is reported, once per bad
// column, and left out; good rows are returned in file order. A header
// other than RecordsCSVHeader is one error at line 1 and nothing is read.
// today is the China date of the import: a settlement cannot be later.
//
// A row's bill is checked as a claim's 政康保 facts are (service_type,
// bill_ref of 1 to 64 characters, amounts of at most two decimals from 0
// to 999999999999.99, the policy scope within the total cost, the three
// insurance layers together within it), and self_pay is an amount of the
// same kind that is at most what the layers left of the total cost
// (total_cost − basic − critical − assistance): the person cannot have paid
// more of the bill than the insurance left.
func ParseRecordsCSV(text []byte, today civil.Date) (rows []recordRow, errs []policies.RowError) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(text, []byte{0xEF, 0xBB, 0xBF})))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		msg := fmt.Sprintf("cannot read the header: %v", err)
		if err == io.EOF {
			msg = "the file is empty; line 1 must be the header " + RecordsCSVHeader
		}
		return nil, []policies.RowError{{Line: 1, Field: "header", Message: msg}}
	}
	if msg := headerProblem(header); msg != "" {
		return nil, []policies.RowError{{Line: 1, Field: "header", Message: msg}}
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				errs = append(errs, policies.RowError{Line: pe.StartLine, Field: "row", Message: fmt.Sprintf("malformed CSV (column %d): %v", pe.Column, pe.Err)})
				continue
			}
			errs = append(errs, policies.RowError{Line: 0, Field: "row", Message: fmt.Sprintf("cannot read: %v", err)})
			break
		}
		line, _ := r.FieldPos(0)
		blank := true
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
			blank = blank && rec[i] == ""
		}
		if blank {
			continue
		}
		if len(rec) != colCount {
			errs = append(errs, policies.RowError{Line: line, Field: "row", Message: fmt.Sprintf("has %d columns, expected %d: %s", len(rec), colCount, RecordsCSVHeader)})
			continue
		}
		row, f := parseRecord(rec, today)
		if len(f) > 0 {
			for _, fe := range f {
				errs = append(errs, policies.RowError{Line: line, Field: fe.Field, Message: fe.Message})
			}
			continue
		}
		rows = append(rows, recordRow{line: line, Record: row})
	}
	return rows, errs
}

// parseRecord checks one row's cells and returns the record, or the bad
// columns (named as in the header).
//
// The bill columns get exactly the rules of 政康保 facts (policies.ParseFacts
// of "medical": readZKBFacts and its reference and amount readers), so that
// every stored record makes a claim that intake accepts. They are checked
// here cell by cell rather than through ParseFacts, whose JSON decoding
// would cost most of a 100,000-row import; TestRecordRulesAreTheFactsRules
// holds the two to the same verdicts.
func parseRecord(rec []string, today civil.Date) (Record, apperr.Fields) {
	var f apperr.Fields
	out := Record{IDNumber: rec[colIDNumber], Hospital: rec[colHospital], ServiceType: rec[colServiceType], BillRef: rec[colBillRef]}
	switch id := rec[colIDNumber]; {
	case id == "":
		f.Add("id_number", "is required")
	case policies.DetectIDType(id) != policies.IDTypeResidentID:
		// A settlement is a person's: a resident ID, never a credit code.
		f.Add("id_number", "must be a valid 18-character resident ID (GB 11643): %v", residentIDProblem(id))
	}
	if d, err := civil.Parse(rec[colSettledOn]); err != nil {
		f.Add("settled_on", "%v", err)
	} else if d > today {
		f.Add("settled_on", "must not be after today (%s, China time)", today)
	} else {
		out.SettledOn = d
	}
	web.CheckText(&f, "hospital", rec[colHospital], HospitalMax)
	switch s := rec[colServiceType]; {
	case s == "":
		f.Add("service_type", "is required")
	case !slices.Contains(policies.ServiceTypes, s):
		f.Add("service_type", "must be one of %s", strings.Join(policies.ServiceTypes, ", "))
	}
	checkReference(&f, "bill_ref", rec[colBillRef])

	var (
		v  [colCount]decimal.Decimal
		ok [colCount]bool
	)
	for _, c := range [...]int{colTotalCost, colPolicyScopeCost, colBasic, colCritical, colAssistance, colSelfPay} {
		v[c], ok[c] = amount(&f, recordColumns[c], rec[c])
	}
	total := v[colTotalCost]
	if ok[colTotalCost] && ok[colPolicyScopeCost] && v[colPolicyScopeCost].GreaterThan(total) {
		f.Add("policy_scope_cost", "must not exceed total_cost (%s)", money.String(total))
	}
	if ok[colTotalCost] && ok[colBasic] && ok[colCritical] && ok[colAssistance] {
		layers := v[colBasic].Add(v[colCritical]).Add(v[colAssistance])
		if layers.GreaterThan(total) {
			f.Add("total_cost", "must be at least basic_insurance_paid + critical_illness_paid + medical_assistance_paid (%s)", money.String(layers))
		} else if left := total.Sub(layers); ok[colSelfPay] && v[colSelfPay].GreaterThan(left) {
			// The person cannot have paid more of the bill than the
			// insurance layers left of it.
			f.Add("self_pay", "must not exceed what the insurance layers left of total_cost (%s)", money.String(left))
		}
	}
	if len(f) > 0 {
		return Record{}, f
	}
	out.TotalCost, out.PolicyScopeCost = money.ToFen(v[colTotalCost]), money.ToFen(v[colPolicyScopeCost])
	out.BasicInsurancePaid, out.CriticalIllnessPaid = money.ToFen(v[colBasic]), money.ToFen(v[colCritical])
	out.MedicalAssistancePaid, out.SelfPay = money.ToFen(v[colAssistance]), money.ToFen(v[colSelfPay])
	return out, nil
}

// amount reads a required amount cell as a claim's facts read one
// (money.Parse: at most two decimals, 0 to 999999999999.99).
func amount(f *apperr.Fields, field, cell string) (decimal.Decimal, bool) {
	if cell == "" {
		f.Add(field, "is required")
		return decimal.Zero, false
	}
	d, err := money.Parse(cell)
	if err != nil {
		f.Add(field, "%s", strings.TrimPrefix(err.Error(), money.ErrInvalid.Error()+": "))
		return decimal.Zero, false
	}
	return d, true
}

// checkReference is the rule of a claim's references (bill_ref): 1 to 64
// characters, printable, no surrounding whitespace (cells are trimmed).
func checkReference(f *apperr.Fields, field, s string) {
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		f.Add(field, "is required")
	case n > 64:
		f.Add(field, "must be at most 64 characters")
	case strings.TrimSpace(s) != s:
		f.Add(field, "must not start or end with whitespace")
	case strings.IndexFunc(s, func(c rune) bool { return !unicode.IsGraphic(c) }) >= 0:
		f.Add(field, "must not contain control or unprintable characters")
	}
}

// residentIDProblem says why id is not a resident ID.
func residentIDProblem(id string) error {
	if err := policies.ValidateResidentID(id); err != nil {
		return err
	}
	return errors.New("not a resident ID")
}

// headerProblem says how a header differs from RecordsCSVHeader, or "".
func headerProblem(header []string) string {
	for i, col := range recordColumns {
		if i >= len(header) {
			return fmt.Sprintf("has %d columns; line 1 must be exactly %s", len(header), RecordsCSVHeader)
		}
		if got := strings.TrimSpace(header[i]); got != col {
			return fmt.Sprintf("column %d is %q, expected %q; line 1 must be exactly %s", i+1, got, col, RecordsCSVHeader)
		}
	}
	if len(header) != len(recordColumns) {
		return fmt.Sprintf("has %d columns; line 1 must be exactly %s", len(header), RecordsCSVHeader)
	}
	return ""
}

// facts returns the record as the facts of a claim under programme: 政康保
// (ZKB) medical facts are the bill's layers; 防贫保 (FPB) illness facts are
// its self-pay, with the household income per capita — which a settlement
// does not carry — taken as qualifying (0.00, below any prevention line):
// the visit checks it.
func (r Record) facts(programme string) policies.Facts {
	if programme == policies.FPB {
		return policies.Facts{
			Programme: policies.FPB, Cause: policies.CauseIllness, BillRef: r.BillRef,
			HouseholdIncomePerCapita: money.Zero, SelfPay: money.FromFen(r.SelfPay),
		}
	}
	return policies.Facts{
		Programme: policies.ZKB, Cause: policies.CauseMedical, ServiceType: r.ServiceType, BillRef: r.BillRef,
		TotalCost: money.FromFen(r.TotalCost), PolicyScopeCost: money.FromFen(r.PolicyScopeCost),
		BasicInsurancePaid: money.FromFen(r.BasicInsurancePaid), CriticalIllnessPaid: money.FromFen(r.CriticalIllnessPaid),
		MedicalAssistancePaid: money.FromFen(r.MedicalAssistancePaid),
	}
}

// cause is the claim cause a record would be claimed under.
func cause(programme string) string {
	if programme == policies.FPB {
		return policies.CauseIllness
	}
	return policies.CauseMedical
}
