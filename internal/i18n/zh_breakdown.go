package i18n

// zhBreakdown are the lines of a claim's breakdown (policies.Assess), each
// keyed by the English line as the assessor writes it — a line built of
// parts (a tier with its label, a cap with its room, a value and its
// rounding note) is spelled out here whole — and rendered the way a clerk
// explains it: amounts in 元 with thousands separators, rates as
// percentages, causes and categories by their Chinese names.
// TestEveryBreakdownLineHasChinese assesses claims of every programme,
// cause and loss class, with offsets, floors, rounding and caps, and fails
// for a line missing here.
var zhBreakdown = []entry{
	{en: "Nothing to assess: the plan's %s rules do not cover cause %q with these facts", zh: "无需核算：该计划的{1:programme}规则不保障{2:cause}事由，或所给事实与之不符"},

	// Accumulation and the tier (assess.go, tier.go).
	{en: "Accumulated %s base this year: earlier counted claims %s + this claim %s", zh: "本年度累计{1:cause}基数：此前已计入的理赔 {2:yuan} + 本次 {3:yuan}"},
	{en: "F(%s) = 0.00, not above the deductible %s [%s]", zh: "累计基数 {1:yuan}，未超过起付线 {2:yuan}，赔付 0.00 元（{3:t}）"},
	{en: "F(%s) = %s = %s, rounded half-up to the fen %s [%s]", zh: "累计基数 {1:yuan}，分段计算：{2:terms} = {3:num}，四舍五入到分为 {4:yuan}（{5:t}）"},
	{en: "F(%s) = %s = %s [%s]", zh: "累计基数 {1:yuan}，分段计算：{2:terms} = {3:yuan}（{4:t}）"},
	{en: "F(%s) = 0.00, not above the deductible %s, for earlier counted claims", zh: "此前累计基数 {1:yuan}，未超过起付线 {2:yuan}，赔付 0.00 元"},
	{en: "F(%s) = %s = %s, rounded half-up to the fen %s, for earlier counted claims", zh: "此前累计基数 {1:yuan}，分段计算：{2:terms} = {3:num}，四舍五入到分为 {4:yuan}"},
	{en: "F(%s) = %s = %s, for earlier counted claims", zh: "此前累计基数 {1:yuan}，分段计算：{2:terms} = {3:yuan}"},
	{en: "ratio %s of %s, the best of the beneficiary's eligible categories", zh: "按受益人符合条件的类别中最优的{2:category}比例 {1:pct}"},
	{en: "no eligible category, ratio 0", zh: "无符合条件的类别，比例为 0"},
	{en: "%s tier", zh: "{1:cause}分段标准"},
	{en: "This claim: F(%s) − F(%s) = %s − %s", zh: "本次赔付：累计基数 {1:yuan} 对应 {3:yuan}，减去此前累计基数 {2:yuan} 对应 {4:yuan}"},

	// Caps (assess.go and each programme's labels).
	{en: "%s = room %s, limits this claim", zh: "{1:t}，剩余额度 {2:yuan}，本次赔付以此为限"},
	{en: "%s = room %s", zh: "{1:t}，剩余额度 {2:yuan}"},
	{en: "Annual cap per person %s − already paid this year %s", zh: "个人年度封顶 {1:yuan} − 本年度已赔付 {2:yuan}"},
	{en: "Outpatient annual cap %s − outpatient already paid this year %s", zh: "门诊年度封顶 {1:yuan} − 本年度门诊已赔付 {2:yuan}"},
	{en: "Household %s cap %s − already paid for %s this year %s", zh: "家庭{1:cause}封顶 {2:yuan} − 本年度{3:cause}已赔付 {4:yuan}"},
	{en: "Household annual cap %s − already paid this year, all causes %s", zh: "家庭年度封顶 {1:yuan} − 本年度各事由已赔付合计 {2:yuan}"},
	{en: "Annual cap per household %s − already paid this year %s", zh: "家庭年度封顶 {1:yuan} − 本年度已赔付 {2:yuan}"},
	{en: "Annual cap per operator %s − already paid this year %s", zh: "经营主体年度封顶 {1:yuan} − 本年度已补贴 {2:yuan}"},
	{en: "Payable: no room left under the cap", zh: "应付金额：封顶额度已用完"},
	{en: "Payable: %s limited by the cap", zh: "应付金额：{1:yuan} 受封顶限制"},
	{en: "Payable", zh: "应付金额"},

	// 政康保 (zkb.go).
	{en: "Base: policy-scope cost %s − basic medical insurance %s − critical illness insurance %s − medical assistance %s (negative, so 0)", zh: "计算基数：政策范围内费用 {1:yuan} − 基本医保 {2:yuan} − 大病保险 {3:yuan} − 医疗救助 {4:yuan}（差额为负，按 0 计）"},
	{en: "Base: policy-scope cost %s − basic medical insurance %s − critical illness insurance %s − medical assistance %s", zh: "计算基数：政策范围内费用 {1:yuan} − 基本医保 {2:yuan} − 大病保险 {3:yuan} − 医疗救助 {4:yuan}"},

	// 防贫保 (fpb.go).
	{en: "Illness self-pay on bill %s (policy scope, after all insurance layers)", zh: "票据 {1} 政策范围内个人自付（已扣除各项保险报销）"},
	{en: "Less 政康保 (ZKB) already paid on bill %s, not paid twice", zh: "减去政康保（ZKB）已就票据 {1} 赔付的金额，不重复赔付"},
	{en: "Education self-pay (after education aid)", zh: "教育费用个人自付（已扣除教育资助）"},
	{en: "Net disaster loss, incident %s", zh: "灾害净损失，事件编号 {1}"},
	{en: "Less 政福保 (ZFB) already paid to the household for incident %s, not paid twice", zh: "减去政福保（ZFB）已就事件 {1} 向该户赔付的金额，不重复赔付"},
	{en: "Net loss from the accident", zh: "意外事故净损失"},
	{en: "Base after offset: %s − %s (negative, so 0)", zh: "扣减后基数：{1:yuan} − {2:yuan}（差额为负，按 0 计）"},
	{en: "Base after offset: %s − %s", zh: "扣减后基数：{1:yuan} − {2:yuan}"},

	// 政福保 (zfb.go).
	{en: "House collapsed: %d room(s) × %s per room", zh: "房屋倒塌：{1} 间 × 每间 {2:yuan}"},
	{en: "Limited to the house-collapsed maximum %s", zh: "以房屋倒塌救助上限 {1:yuan} 为限"},
	{en: "House damaged: fixed relief", zh: "房屋损坏：定额救助"},
	{en: "Death: fixed relief", zh: "死亡：定额救助"},
	{en: "Disability grade %d: %s × (11 − %d) / 10 = %s, rounded half-up to the fen %s", zh: "伤残 {1} 级：{2:yuan} × (11 − {3}) / 10 = {4:num}，四舍五入到分为 {5:yuan}"},
	{en: "Disability grade %d: %s × (11 − %d) / 10 = %s", zh: "伤残 {1} 级：{2:yuan} × (11 − {3}) / 10 = {4:yuan}"},
	{en: "Assessed property loss", zh: "财产损失评估金额"},
	{en: "Property loss relief: %s × max(0, %s − deductible %s) = %s, rounded half-up to the fen %s", zh: "财产损失救助：(评估损失 {2:yuan} − 起付线 {3:yuan}，不低于 0) × {1:pct} = {4:num}，四舍五入到分为 {5:yuan}"},
	{en: "Property loss relief: %s × max(0, %s − deductible %s) = %s", zh: "财产损失救助：(评估损失 {2:yuan} − 起付线 {3:yuan}，不低于 0) × {1:pct} = {4:yuan}"},
	{en: "Limited to the property-loss maximum %s", zh: "以财产损失救助上限 {1:yuan} 为限"},
	{en: "Relief due before the annual cap", zh: "年度封顶前应救助金额"},

	// 产业保 (cyb.go).
	{en: "Premium paid, %s policy %s", zh: "已缴保费，{1:industry}保单 {2}"},
	{en: "Premium re-subsidy: rate %s (%s) × %s = %s, rounded half-up to the fen %s", zh: "保费再奖补：保费 {3:yuan} × {1:pct}（{2:t}）= {4:num}，四舍五入到分为 {5:yuan}"},
	{en: "Premium re-subsidy: rate %s (%s) × %s = %s", zh: "保费再奖补：保费 {3:yuan} × {1:pct}（{2:t}）= {4:yuan}"},
	{en: "county subsidised", zh: "县级已补贴"},
	{en: "no county subsidy", zh: "县级未补贴"},
	{en: "Primary insurance claim paid, %s policy %s", zh: "原保险已赔付，{1:industry}保单 {2}"},
	{en: "Loss top-up: rate %s × %s = %s, rounded half-up to the fen %s", zh: "损失再补助：原保险赔付 {2:yuan} × {1:pct} = {3:num}，四舍五入到分为 {4:yuan}"},
	{en: "Loss top-up: rate %s × %s = %s", zh: "损失再补助：原保险赔付 {2:yuan} × {1:pct} = {3:yuan}"},
}
