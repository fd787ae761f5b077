package i18n

// names are the Chinese names of the API's codes, by kind (Name). The codes
// themselves never change in answers; these are for people: spreadsheet
// headers and cells, pages, and the breakdown lines that name a cause or a
// category.
var names = map[string]map[string]string{
	// DESIGN §11's error codes, as a clerk would say what went wrong; also
	// the opening of a Chinese error message the catalogue does not know.
	"error": {
		"bad_request":            "请求格式有误",
		"unauthorized":           "未登录或令牌无效",
		"forbidden":              "无权执行此操作",
		"not_found":              "未找到",
		"method_not_allowed":     "不支持此请求方法",
		"payload_too_large":      "请求内容过大",
		"unsupported_media_type": "不支持此内容类型",
		"validation_failed":      "请求中有无效字段",
		"idempotency_key_reused": "幂等键已用于其他请求",
		"duplicate_external_ref": "外部编号重复",
		"invalid_state":          "当前状态不允许此操作",
		"budget_exhausted":       "预算不足",
		"same_approver":          "须由另一名财务人员审批",
		"plan_closed":            "计划已关闭",
		"missing_payout_account": "缺少收款账户",
		"notice_pending":         "公示期未满",
		"objection_open":         "存在未处理的异议",
		"conflict":               "与现有数据冲突",
		"unavailable":            "服务暂不可用",
		"internal":               "内部错误",
	},
	// DESIGN §6's reason codes, short, as a report column or a list names
	// them; the reason's message says more.
	"reason": {
		"unknown_beneficiary":     "受益人不在库",
		"outside_coverage_period": "不在保障期内",
		"late_submission":         "超过申报时限",
		"outside_plan_area":       "不在计划实施区域",
		"not_covered_category":    "不属于保障对象类别",
		"residency_not_eligible":  "户籍或居住条件不符",
		"cause_not_covered":       "事由不在保障范围",
		"above_prevention_line":   "超出防贫监测线",
		"industry_not_covered":    "产业不在保障范围",
		"evidence_missing":        "缺少证明材料",
		"duplicate_claim":         "重复申报",
		"already_compensated":     "已获赔付",
		"nothing_payable":         "无应付金额",
		"annual_cap_reached":      "已达年度封顶",
	},
	// DESIGN §4's counties (GB/T 2260).
	"county": {
		"411302": "宛城区",
		"411303": "卧龙区",
		"411321": "南召县",
		"411322": "方城县",
		"411323": "西峡县",
		"411324": "镇平县",
		"411325": "内乡县",
		"411326": "淅川县",
		"411327": "社旗县",
		"411328": "唐河县",
		"411329": "新野县",
		"411330": "桐柏县",
		"411381": "邓州市",
	},
	"category": {
		"illness_poverty":         "因病致贫",
		"disability_poverty":      "因残致贫",
		"rural_destitute":         "农村特困人员",
		"unstable_out_of_poverty": "脱贫不稳定户",
		"marginal_at_risk":        "边缘易致贫户",
		"sudden_hardship":         "突发严重困难户",
		"agri_operator":           "特色农业经营主体",
	},
	"residency": {
		"hukou":            "南阳户籍",
		"residence_permit": "居住证",
		"labour_contract":  "签订正式劳动合同务工",
	},
	"programme": {
		"ZKB": "政康保",
		"ZFB": "政福保",
		"FPB": "防贫保",
		"CYB": "产业保",
	},
	"cause": {
		"medical":         "医疗",
		"illness":         "疾病",
		"education":       "教育",
		"disaster":        "灾害",
		"accident":        "意外",
		"premium_subsidy": "保费补贴",
		"loss_topup":      "损失补助",
	},
	"industry": {
		"rose": "月季",
		"tea":  "茶叶",
		"herb": "中药材",
		"bee":  "蜜蜂",
	},
	"loss_class": {
		"house_collapsed": "房屋倒塌",
		"house_damaged":   "房屋损坏",
		"death":           "死亡",
		"disability":      "伤残",
		"property_loss":   "财产损失",
	},
	"service_type": {
		"inpatient":  "住院",
		"outpatient": "门诊",
	},
	// What a transition does to a claim, as "cannot be %s" names it.
	"action": {
		"approved": "审批",
		"declined": "驳回",
		"revoked":  "撤销",
	},
	"status": {
		"assessed":  "已核定",
		"approved":  "已审批",
		"disbursed": "发放中",
		"paid":      "已发放",
		"rejected":  "不予受理",
		"declined":  "已驳回",
		"withdrawn": "已撤回",
	},
}
