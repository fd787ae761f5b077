package i18n

// zhReasons are the messages of DESIGN §6's reasons, keyed by the English
// of claims.reasonText: the reason's short name (names["reason"]), then why.
var zhReasons = []entry{
	{en: "the beneficiary is not in the registry", zh: "受益人不在库：建档立卡信息库中没有该受益人"},
	{en: "the event date is outside the plan's coverage period", zh: "不在保障期内：事件日期不在计划的保障期内"},
	{en: "the claim was submitted after the plan's filing window", zh: "超过申报时限：理赔在计划规定的申报期限之后提交"},
	{en: "the beneficiary's county is outside the plan's area", zh: "不在计划实施区域：受益人所在区县不在计划实施范围内"},
	{en: "the beneficiary has no eligible category on the event date", zh: "不属于保障对象类别：事件发生时受益人不属于计划保障的人员类别"},
	{en: "the beneficiary has no eligible residency on the event date", zh: "户籍或居住条件不符：事件发生时受益人没有符合条件的户籍、居住证或劳动合同"},
	{en: "the plan's rules do not cover this cause", zh: "事由不在保障范围：计划规则不保障此类事由"},
	{en: "the household income per capita is not below the prevention line", zh: "超出防贫监测线：家庭人均纯收入不低于防贫监测线"},
	{en: "the plan does not cover this industry", zh: "产业不在保障范围：计划不保障此产业"},
	{en: "required evidence is missing", zh: "缺少证明材料：未提供规定的证明材料"},
	{en: "the same claim was already submitted and counted", zh: "重复申报：相同的理赔已提交并计入"},
	{en: "the household was already compensated for this incident", zh: "已获赔付：该户已就此事件获得赔付"},
	{en: "nothing is payable under the plan's rules (the base still counts toward the deductible)", zh: "无应付金额：按计划规则无应付金额（本次金额仍计入起付线累计）"},
	{en: "the annual cap has no room left", zh: "已达年度封顶：年度封顶额度已用完"},
}
