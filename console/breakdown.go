package console

import (
	"regexp"
	"strings"
)

// A claim's breakdown is stored as the assessment wrote it, in English, one
// line per step (policies, DESIGN §6). The console reads it to a clerk in
// Chinese: each line the payout math writes has a pattern here, and its
// numbers, bill and incident references carry over unchanged, so the
// Chinese line says exactly what the stored one does. A line no pattern
// knows is shown as stored (breakdown_test.go files a claim of every
// programme and cause and requires every line translated).
//
// When the API's own message catalogue gives Chinese breakdowns
// (Accept-Language, DESIGN §16), this file should go and the console should
// ask for those instead.

const num = `(-?[0-9]+(?:\.[0-9]+)?)`

// rounding is the optional ", rounded half-up to the fen N" of exact values.
const rounding = `(?:, rounded half-up to the fen ` + num + `)?`

type linePattern struct {
	re *regexp.Regexp
	zh func(m []string) string
}

func pat(expr string, zh func(m []string) string) linePattern {
	return linePattern{re: regexp.MustCompile("^" + expr + "$"), zh: zh}
}

func roundedZH(s string) string {
	if s == "" {
		return ""
	}
	return "，四舍五入到分为 " + s
}

func negativeZH(s string) string {
	if s != "" {
		return "（为负，按 0 计）"
	}
	return ""
}

func causeZH(c string) string { return name(LangZH, "cause", c) }

// capLabels are the annual cap lines' labels, before " = room N".
var capLabels = []linePattern{
	pat(`Annual cap per person `+num+` − already paid this year `+num, func(m []string) string {
		return "个人年度封顶 " + m[1] + " − 本年已付 " + m[2]
	}),
	pat(`Outpatient annual cap `+num+` − outpatient already paid this year `+num, func(m []string) string {
		return "门诊年度封顶 " + m[1] + " − 本年门诊已付 " + m[2]
	}),
	pat(`Household (\w+) cap `+num+` − already paid for \w+ this year `+num, func(m []string) string {
		return "家庭" + causeZH(m[1]) + "封顶 " + m[2] + " − 本年" + causeZH(m[1]) + "已付 " + m[3]
	}),
	pat(`Household annual cap `+num+` − already paid this year, all causes `+num, func(m []string) string {
		return "家庭年度封顶 " + m[1] + " − 本年各类已付 " + m[2]
	}),
	pat(`Annual cap per operator `+num+` − already paid this year `+num, func(m []string) string {
		return "经营主体年度封顶 " + m[1] + " − 本年已付 " + m[2]
	}),
	pat(`Annual cap per household `+num+` − already paid this year `+num, func(m []string) string {
		return "家庭年度封顶 " + m[1] + " − 本年已付 " + m[2]
	}),
}

// tierLabels are what follows a tier line in brackets.
var tierLabels = []linePattern{
	pat(`ratio `+num+` of (\w+), the best of the beneficiary's eligible categories`, func(m []string) string {
		return "按受益人可享类别中最优的“" + name(LangZH, "category", m[2]) + "”比例 " + m[1]
	}),
	pat(`no eligible category, ratio 0`, func([]string) string { return "无可享类别，比例 0" }),
	pat(`(\w+) tier`, func(m []string) string { return causeZH(m[1]) + "分档" }),
}

func matchAny(ps []linePattern, s string) (string, bool) {
	for _, p := range ps {
		if m := p.re.FindStringSubmatch(s); m != nil {
			return p.zh(m), true
		}
	}
	return "", false
}

var linePatterns = []linePattern{
	pat(`Base: policy-scope cost `+num+` − basic medical insurance `+num+` − critical illness insurance `+num+` − medical assistance `+num+`( \(negative, so 0\))?`,
		func(m []string) string {
			return "计算基数：政策范围内费用 " + m[1] + " − 基本医保支付 " + m[2] + " − 大病保险支付 " + m[3] + " − 医疗救助支付 " + m[4] + negativeZH(m[5])
		}),
	pat(`Accumulated (\w+) base this year: earlier counted claims `+num+` \+ this claim `+num, func(m []string) string {
		return "本年度累计基数（" + causeZH(m[1]) + "）：此前已计入的理赔 " + m[2] + " + 本次 " + m[3]
	}),
	pat(`F\(`+num+`\) = 0\.00, not above the deductible `+num+`(.*)`, func(m []string) string {
		return "按档计算 F(" + m[1] + ") = 0.00，未超过起付线 " + m[2] + tierSuffix(m[3])
	}),
	pat(`F\(`+num+`\) = (.+?) = `+num+rounding+`((?: \[.*\])|, for earlier counted claims)?`, func(m []string) string {
		return "按档计算 F(" + m[1] + ") = " + m[2] + " = " + m[3] + roundedZH(m[4]) + tierSuffix(m[5])
	}),
	pat(`This claim: F\(`+num+`\) − F\(`+num+`\) = `+num+` − `+num, func(m []string) string {
		return "本次应付：F(" + m[1] + ") − F(" + m[2] + ") = " + m[3] + " − " + m[4]
	}),
	pat(`(.+) = room `+num+`(, limits this claim)?`, func(m []string) string {
		label, ok := matchAny(capLabels, m[1])
		if !ok {
			return ""
		}
		s := label + " = 剩余额度 " + m[2]
		if m[3] != "" {
			s += "，本次以此为限"
		}
		return s
	}),
	pat(`Payable: no room left under the cap`, func([]string) string { return "应付：封顶额度已用完" }),
	pat(`Payable: `+num+` limited by the cap`, func(m []string) string { return "应付：" + m[1] + " 受封顶限制" }),
	pat(`Payable`, func([]string) string { return "应付金额" }),

	pat(`Premium paid, (\w+) policy (.+)`, func(m []string) string {
		return "已缴保费（" + name(LangZH, "value", m[1]) + "，保单 " + m[2] + "）"
	}),
	pat(`Premium re-subsidy: rate `+num+` \((county subsidised|no county subsidy)\) × `+num+` = `+num+rounding, func(m []string) string {
		note := "县级已补贴"
		if m[2] == "no county subsidy" {
			note = "县级未补贴"
		}
		return "保费再奖补：比例 " + m[1] + "（" + note + "）× " + m[3] + " = " + m[4] + roundedZH(m[5])
	}),
	pat(`Primary insurance claim paid, (\w+) policy (.+)`, func(m []string) string {
		return "原保险已赔付（" + name(LangZH, "value", m[1]) + "，保单 " + m[2] + "）"
	}),
	pat(`Loss top-up: rate `+num+` × `+num+` = `+num+rounding, func(m []string) string {
		return "理赔再奖补：比例 " + m[1] + " × " + m[2] + " = " + m[3] + roundedZH(m[4])
	}),

	pat(`Illness self-pay on bill (.+) \(policy scope, after all insurance layers\)`, func(m []string) string {
		return "因病自付费用（结算单 " + m[1] + "，政策范围内，已扣除各项保险）"
	}),
	pat(`Less 政康保 \(ZKB\) already paid on bill (.+), not paid twice`, func(m []string) string {
		return "扣除政康保已就结算单 " + m[1] + " 支付的金额，不重复支付"
	}),
	pat(`Education self-pay \(after education aid\)`, func([]string) string { return "因学自付费用（已扣除教育资助）" }),
	pat(`Net disaster loss, incident (.+)`, func(m []string) string { return "灾害净损失（灾情编号 " + m[1] + "）" }),
	pat(`Less 政福保 \(ZFB\) already paid to the household for incident (.+), not paid twice`, func(m []string) string {
		return "扣除政福保已就灾情 " + m[1] + " 向该户支付的金额，不重复支付"
	}),
	pat(`Net loss from the accident`, func([]string) string { return "意外事故净损失" }),
	pat(`Base after offset: `+num+` − `+num+`( \(negative, so 0\))?`, func(m []string) string {
		return "扣除后基数：" + m[1] + " − " + m[2] + negativeZH(m[3])
	}),

	pat(`House collapsed: ([0-9]+) room\(s\) × `+num+` per room`, func(m []string) string {
		return "房屋倒塌：" + m[1] + " 间 × 每间 " + m[2]
	}),
	pat(`Limited to the house-collapsed maximum `+num, func(m []string) string { return "以房屋倒塌救助上限 " + m[1] + " 为限" }),
	pat(`House damaged: fixed relief`, func([]string) string { return "房屋损坏：定额救助" }),
	pat(`Death: fixed relief`, func([]string) string { return "死亡：定额救助" }),
	pat(`Disability grade ([0-9]+): `+num+` × \(11 − ([0-9]+)\) / 10 = `+num+rounding, func(m []string) string {
		return "伤残 " + m[1] + " 级：" + m[2] + " × (11 − " + m[3] + ") ÷ 10 = " + m[4] + roundedZH(m[5])
	}),
	pat(`Assessed property loss`, func([]string) string { return "核定财产损失" }),
	pat(`Property loss relief: `+num+` × max\(0, `+num+` − deductible `+num+`\) = `+num+rounding, func(m []string) string {
		return "财产损失救助：" + m[1] + " × max(0, " + m[2] + " − 起付 " + m[3] + ") = " + m[4] + roundedZH(m[5])
	}),
	pat(`Limited to the property-loss maximum `+num, func(m []string) string { return "以财产损失救助上限 " + m[1] + " 为限" }),
	pat(`Relief due before the annual cap`, func([]string) string { return "封顶前应救助金额" }),
	pat(`Nothing to assess: the plan's (\w+) rules do not cover cause "(.*)" with these facts`, func(m []string) string {
		return "无可计算：计划的" + name(LangZH, "programme", m[1]) + "规则不保障原因“" + causeZH(m[2]) + "”"
	}),
}

// tierSuffix reads what follows a tier line: its label in brackets, or that
// it is for earlier claims.
func tierSuffix(s string) string {
	switch {
	case s == "":
		return ""
	case s == ", for earlier counted claims":
		return "，为此前已计入理赔的部分"
	case strings.HasPrefix(s, " [") && strings.HasSuffix(s, "]"):
		if l, ok := matchAny(tierLabels, s[2:len(s)-1]); ok {
			return "［" + l + "］"
		}
	}
	return s
}

// stepText is a breakdown line in lang; ok is false when a Chinese line was
// asked for and no pattern knows the stored one.
func stepText(lang, stored string) (string, bool) {
	if lang != LangZH {
		return stored, true
	}
	for _, p := range linePatterns {
		if m := p.re.FindStringSubmatch(stored); m != nil {
			if s := p.zh(m); s != "" {
				return s, true
			}
		}
	}
	return stored, false
}
