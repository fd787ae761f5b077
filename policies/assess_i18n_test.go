package policies

import (
	"regexp"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"huimin/internal/i18n"
)

// englishWord finds what is left of English in a Chinese line: a run of
// three or more ASCII letters.
var englishWord = regexp.MustCompile(`[A-Za-z]{3,}`)

// requireChinese asserts that every line of a's breakdown has its Chinese
// in the catalogue (internal/i18n) and that the Chinese keeps no English
// words but the references the claim itself carries and the programme codes.
func requireChinese(t *testing.T, a Assessment, refs ...string) {
	t.Helper()
	for _, s := range a.Breakdown {
		zh, ok := i18n.Translate(i18n.Chinese, s.Description)
		require.Truef(t, ok, "breakdown line without Chinese: %q", s.Description)
		rest := zh
		for _, r := range append(refs, "ZKB", "ZFB") {
			rest = strings.ReplaceAll(rest, r, "")
		}
		require.Emptyf(t, englishWord.FindAllString(rest, -1), "English left in %q (from %q)", zh, s.Description)
	}
}

// TestEveryBreakdownLineHasChinese assesses claims of every programme, cause
// and loss class — below and across deductibles and brackets, with odd fen
// that round, offsets larger than the loss, layers that paid beyond the
// policy scope, caps with room, caps that bind and caps already overrun —
// and requires each breakdown line to read in Chinese.
func TestEveryBreakdownLineHasChinese(t *testing.T) {
	amounts := []string{"0.00", "0.01", "999.99", "4999.99", "5000.00", "7000.01", "12345.67", "20000.01", "32000.00", "120000.33", "999999999999.99"}
	histories := []History{
		{},
		hist("12000.00", "2100.00", "2100.00", "", "2000.00"),
		hist("49000.00", "99000.00", "19000.00", "9990.00", "999999.00"),
		hist("0.00", "200000.00", "200000.00", "20000.00", ""), // caps overrun: no room
	}
	refs := []string{"NY-2026-0001", "YJ-2026-7", "PICC-88"}
	count := 0
	check := func(in AssessInput) {
		t.Helper()
		requireChinese(t, Assess(in), refs...)
		count++
	}
	zkbNoDeductible, zkbDeductible := DefaultRules(ZKB), mustRules(t, ZKB, `{"deductible":"3000.00"}`)
	for _, amount := range amounts {
		for _, h := range histories {
			for _, rules := range []Rules{zkbNoDeductible, zkbDeductible} {
				for _, cats := range [][]string{{"illness_poverty"}, {"rural_destitute", "illness_poverty"}, {"marginal_at_risk"}} {
					check(AssessInput{Rules: rules, Cause: CauseMedical, Facts: zkbFacts("inpatient", amount, "0.00", "0.00", "0.00"), Categories: cats, History: h})
					check(AssessInput{Rules: rules, Cause: CauseMedical, Facts: zkbFacts("outpatient", amount, "300.00", "200.00", "100.00"), Categories: cats, History: h})
				}
			}
			for _, cause := range fpbCauses {
				check(AssessInput{Rules: DefaultRules(FPB), Cause: cause, Facts: fpbFacts(cause, amount), History: h})
			}
			for _, cause := range cybCauses {
				check(AssessInput{Rules: DefaultRules(CYB), Cause: cause, Facts: cybFacts(cause, amount, true), History: h})
				check(AssessInput{Rules: DefaultRules(CYB), Cause: cause, Facts: cybFacts(cause, amount, false), History: h})
			}
			check(AssessInput{Rules: DefaultRules(ZFB), Cause: CauseDisaster, Facts: zfbFacts("property_loss", 0, 0, amount), History: h})
		}
	}
	for _, h := range histories {
		for rooms := 1; rooms <= 6; rooms++ {
			check(AssessInput{Rules: DefaultRules(ZFB), Cause: CauseDisaster, Facts: zfbFacts("house_collapsed", rooms, 0, ""), History: h})
		}
		for grade := 1; grade <= 10; grade++ {
			check(AssessInput{Rules: DefaultRules(ZFB), Cause: CauseDisaster, Facts: zfbFacts("disability", 0, grade, ""), History: h})
		}
		// A grade-1 amount that does not divide by ten: the line rounds.
		odd := mustRules(t, ZFB, `{"disability_grade1":"50000.05"}`)
		check(AssessInput{Rules: odd, Cause: CauseDisaster, Facts: zfbFacts("disability", 0, 3, ""), History: h})
		check(AssessInput{Rules: DefaultRules(ZFB), Cause: CauseDisaster, Facts: zfbFacts("house_damaged", 0, 0, ""), History: h})
		check(AssessInput{Rules: DefaultRules(ZFB), Cause: CauseDisaster, Facts: zfbFacts("death", 0, 0, ""), History: h})
	}
	// Layers that paid more than the policy scope: the base is floored.
	check(AssessInput{Rules: DefaultRules(ZKB), Cause: CauseMedical, Facts: zkbFacts("inpatient", "1000.00", "900.00", "200.00", "0.00"), Categories: []string{"rural_destitute"}})
	// A cause the plan dropped, and facts of another programme.
	check(AssessInput{Rules: mustRules(t, FPB, `{"causes":{"education":null}}`), Cause: CauseEducation, Facts: fpbFacts(CauseEducation, "50000.00")})
	check(AssessInput{Rules: DefaultRules(ZKB), Cause: CauseIllness, Facts: fpbFacts(CauseIllness, "50000.00")})
	require.Greater(t, count, 700)
}

// The Chinese of the DESIGN FPB example, line by line: what a clerk reads.
func TestBreakdownInChinese(t *testing.T) {
	a := Assess(AssessInput{
		Rules: DefaultRules(FPB), Cause: CauseIllness, Facts: fpbFacts(CauseIllness, "32000.00"),
		History: hist("12000.00", "2100.00", "2100.00", "", "2000.00"),
	})
	var got []string
	for _, s := range a.Breakdown {
		got = append(got, i18n.Message(i18n.Chinese, s.Description))
	}
	require.Equal(t, []string{
		"票据 NY-2026-0001 政策范围内个人自付（已扣除各项保险报销）",
		"减去政康保（ZKB）已就票据 NY-2026-0001 赔付的金额，不重复赔付",
		"扣减后基数：32,000.00 元 − 2,000.00 元",
		"本年度累计疾病基数：此前已计入的理赔 12,000.00 元 + 本次 30,000.00 元",
		"累计基数 42,000.00 元，分段计算：(20,000.00 − 5,000.00) × 30% + (42,000.00 − 20,000.00) × 50% = 15,500.00 元（疾病分段标准）",
		"此前累计基数 12,000.00 元，分段计算：(12,000.00 − 5,000.00) × 30% = 2,100.00 元",
		"本次赔付：累计基数 42,000.00 元 对应 15,500.00 元，减去此前累计基数 12,000.00 元 对应 2,100.00 元",
		"家庭疾病封顶 100,000.00 元 − 本年度疾病已赔付 2,100.00 元，剩余额度 97,900.00 元",
		"家庭年度封顶 100,000.00 元 − 本年度各事由已赔付合计 2,100.00 元，剩余额度 97,900.00 元",
		"应付金额",
	}, got)
}

// FuzzBreakdownInChinese: whatever the amounts and history, every line of an
// FPB or ZKB breakdown reads in Chinese.
func FuzzBreakdownInChinese(f *testing.F) {
	f.Add(uint8(0), uint64(1200000), uint64(0), uint64(0), uint64(0), uint64(0))
	f.Add(uint8(1), uint64(1), uint64(99999999999999), uint64(500000), uint64(1), uint64(7))
	f.Add(uint8(2), uint64(2000001), uint64(4999999), uint64(10000000), uint64(9999999), uint64(333))
	f.Add(uint8(4), uint64(1500000), uint64(1), uint64(0), uint64(950000), uint64(5))
	zkb, errs := ParseRules(ZKB, []byte(`{"deductible":"1000.00","eligible_categories":["illness_poverty","sudden_hardship"],"ratios":{"illness_poverty":"0.80","sudden_hardship":"0.3333"}}`))
	if len(errs) > 0 {
		f.Fatal(errs)
	}
	f.Fuzz(func(t *testing.T, which uint8, amountN, prevN, paidN, offsetN, layerN uint64) {
		h := History{PrevBase: fenOf(prevN), PaidAnnual: fenOf(paidN), PaidCause: fenOf(paidN / 2), PaidOutpatient: fenOf(paidN / 3), Offset: fenOf(offsetN)}
		amount := fenOf(amountN)
		var in AssessInput
		if int(which)%5 < len(fpbCauses) {
			cause := fpbCauses[int(which)%5]
			in = AssessInput{Rules: DefaultRules(FPB), Cause: cause, History: h,
				Facts: Facts{Programme: FPB, Cause: cause, BillRef: "B-1", IncidentRef: "I-1", SelfPay: amount, NetLoss: amount}}
		} else {
			in = AssessInput{Rules: zkb, Cause: CauseMedical, Categories: []string{"sudden_hardship"}, History: h,
				Facts: Facts{Programme: ZKB, Cause: CauseMedical, ServiceType: "outpatient", BillRef: "B-1", TotalCost: amount, PolicyScopeCost: amount,
					BasicInsurancePaid: fenOf(layerN), CriticalIllnessPaid: decimal.Zero, MedicalAssistancePaid: decimal.Zero}}
		}
		requireChinese(t, Assess(in), "B-1", "I-1")
	})
}

// The catalogue names counties as the registry does.
func TestCountyNamesAgreeWithTheCatalogue(t *testing.T) {
	for code, name := range Counties {
		require.Equal(t, name, i18n.Name(i18n.Chinese, "county", code))
	}
	for _, c := range Categories {
		require.NotEqual(t, c, i18n.Name(i18n.Chinese, "category", c), "category %s has a Chinese name", c)
	}
}
