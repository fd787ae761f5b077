package console

// The words of the approval queue and the claim page added with the keyset
// queue and the claim's audit history: the section's labels and the
// outcomes of claim records in words. The actions' names are zhNames'
// (action.*); English shows the action's code, as the audit log does.
var zhQueue = map[string]string{
	"queue.bad_field": "%s：%s",

	"claim.audit":       "审计记录",
	"claim.audit.actor": "%s（%s）",
	"claim.audit.empty": "没有这件理赔的审计记录（批量提交的理赔只有批次的记录）。",
	"claim.audit.more":  "只显示最近的 %d 条记录。",

	"outcome.refused":        "未执行：%s",
	"outcome.sep":            "：",
	"outcome.first_approval": "第一人已批准，待第二人审批",
}

var enQueue = map[string]string{
	"queue.bad_field": "%s: %s",

	"claim.audit":       "Audit history",
	"claim.audit.actor": "%s (%s)",
	"claim.audit.empty": "No audit record for this claim (a claim filed in a batch has only its batch's record).",
	"claim.audit.more":  "Only the latest %d records are shown.",

	"outcome.refused":        "refused: %s",
	"outcome.sep":            ": ",
	"outcome.first_approval": "first approval; a second approver is needed",
}
