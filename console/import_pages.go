package console

import (
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/labstack/echo/v4"

	"huimin/internal/apperr"
	"huimin/internal/i18n"
	"huimin/policies"
)

// importRoutes mounts the registry import by file upload (建档立卡导入,
// administrators).
func (c *Console) importRoutes(e *echo.Echo) {
	e.GET("/console/registry/import", c.staff(admins, c.importPage))
	e.POST("/console/registry/import", c.staff(admins, c.importFile))
}

// importRow is one bad row of an import as the page lists it: the column
// in the page's language where the catalogue names it, and the message.
type importRow struct {
	Line    int
	Field   string // the column as the file names it (id_number, header, row…)
	Column  string // in words
	Message string
}

type importData struct {
	Done   bool
	File   string
	A      policies.ImportAnswer
	Rows   []importRow
	Header string
}

func (c *Console) importPage(r *request) error {
	return r.render(http.StatusOK, "registry_import", "import.title", "nav.registry_import", importData{Header: policies.RegistryCSVHeader})
}

// importFile imports the uploaded file through policies.Registry.ImportFile,
// the very code of POST /api/v1/beneficiaries/import: the same reading (CSV
// in UTF-8 or GBK, or XLSX), the same per-person merge and checks, the same
// transactions and audit record (beneficiary.import, the signed-in user as
// the actor). As in the API (DESIGN §4), good rows are stored when others
// are bad, and the page lists every bad row.
func (c *Console) importFile(r *request) error {
	d := importData{Header: policies.RegistryCSVHeader}
	fh, err := r.FormFile("file")
	if err != nil {
		return r.render(http.StatusUnprocessableEntity, "registry_import", "import.title", "nav.registry_import", d, withProblem(r.T("import.no_file")))
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(f) // bounded by the request's body limit
	if err != nil {
		return err
	}
	d.File = fh.Filename
	if len(data) == 0 {
		return r.render(http.StatusUnprocessableEntity, "registry_import", "import.title", "nav.registry_import", d, withProblem(r.T("import.empty")))
	}
	// The part's own Content-Type is the file's, as for the file part of
	// an API upload: a browser sends text/csv, the XLSX type, or what
	// Windows calls a .csv (application/vnd.ms-excel), none with a
	// charset, so a CSV's charset is detected (valid UTF-8, else GBK) and
	// a workbook is known by its content.
	contentType := fh.Header.Get(echo.HeaderContentType)
	if _, _, err := mime.ParseMediaType(contentType); err != nil {
		contentType = ""
	}
	a, err := c.Registry.ImportFile(r.Request().Context(), r.who(), data, contentType)
	if err != nil {
		status, msg, fields := r.problemOf(err)
		var ae *apperr.Error
		if errors.As(err, &ae) && status < http.StatusInternalServerError {
			msg += " " + r.message(ae.Message) // which charset, which format: the file's problem in words
		}
		for i := range fields {
			fields[i].Message = r.message(fields[i].Message)
		}
		return r.render(status, "registry_import", "import.title", "nav.registry_import", d, withProblem(msg, fields...))
	}
	d.Done, d.A = true, a
	for _, e := range a.Errors {
		d.Rows = append(d.Rows, importRow{Line: e.Line, Field: e.Field, Column: r.column(e.Field), Message: r.message(e.Message)})
	}
	if len(a.Errors) > 0 {
		return r.render(http.StatusOK, "registry_import", "import.title", "nav.registry_import", d,
			withProblem(r.Tf("import.bad_rows", len(a.Errors))))
	}
	return r.render(http.StatusOK, "registry_import", "import.title", "nav.registry_import", d, withNotice(r.T("import.done")))
}

// column is an import column's name in the request's language, or the
// column as the file names it when the catalogue has no word for it.
func (r *request) column(field string) string {
	if s, ok := catalog[r.lang]["import.field."+field]; ok {
		return s
	}
	return field
}

// message is a message of the services (written in English) in the
// request's language, through the API's own catalogue (internal/i18n); one
// it does not know stays as written.
func (r *request) message(msg string) string {
	if r.lang == LangZH {
		return i18n.Message(i18n.Chinese, msg)
	}
	return msg
}

// zhAdmin and enAdmin are the words of the administrator's import page, and
// (merged here) of the settlement preview (money_pages.go).
var zhAdmin = merge(zhImport, zhSettle)

var enAdmin = merge(enImport, enSettle)

var zhImport = map[string]string{
	"nav.registry_import": "建档立卡导入",
	"import.title":        "建档立卡批量导入",
	"import.intro":        "上传建档立卡名单：CSV（UTF-8 或 Excel 另存的 GBK 编码均可）或 Excel 工作簿（XLSX，读取第一个工作表）。每行是一个人的一个人员类别或户籍/居住情况，同一证件号码的多行合并为一人。",
	"import.header":       "第 1 行必须是表头：",
	"import.places":       "表头后面可以再加三列 township,village,bank_name（乡镇、村、开户行）。",
	"import.rule":         "正确的行会导入；有错误的行不导入，并在下面逐行列出，改正后可再次上传（已导入的人再次导入不会重复）。",
	"import.limit":        "文件不超过 32 MiB（约三十万行），与 API 导入（POST /api/v1/beneficiaries/import）相同。",
	"import.file":         "名单文件",
	"import.do":           "导入",
	"import.no_file":      "请选择要导入的文件。",
	"import.empty":        "文件是空的。",
	"import.done":         "导入完成，没有错误的行。",
	"import.bad_rows":     "文件中有 %d 处错误，涉及的行未导入；其余各行已导入。",
	"import.result":       "导入结果",
	"import.created":      "新增",
	"import.updated":      "更新",
	"import.unchanged":    "无变化",
	"import.errors":       "错误",
	"import.people":       "人",
	"import.line":         "行号",
	"import.field":        "字段",
	"import.message":      "说明",
	"import.lookup":       "查询建档立卡人员",

	"import.field.id_number":      "证件号码",
	"import.field.id_type":        "证件类型",
	"import.field.name":           "姓名",
	"import.field.county_code":    "区县代码",
	"import.field.household_id":   "户编号",
	"import.field.payout_account": "收款账户",
	"import.field.kind":           "类型（category/residency）",
	"import.field.value":          "人员类别/户籍类型",
	"import.field.valid_from":     "起始日期",
	"import.field.valid_to":       "截止日期",
	"import.field.township":       "乡镇",
	"import.field.village":        "村",
	"import.field.bank_name":      "开户行",
	"import.field.header":         "表头",
	"import.field.row":            "整行",
	"import.field.body":           "文件",
	"import.field.file":           "文件",
}

var enImport = map[string]string{
	"nav.registry_import": "Registry import",
	"import.title":        "Registry import",
	"import.intro":        "Upload the registry: a CSV file (UTF-8, or GBK as Excel saves it in China) or an Excel workbook (XLSX, its first sheet). Each row is one category or residency of one person; the rows of one id number merge into one person.",
	"import.header":       "Line 1 must be the header:",
	"import.places":       "It may be followed by three more columns, township,village,bank_name.",
	"import.rule":         "Good rows are imported; bad rows are not, and are listed below line by line: correct them and upload again (importing a person again does no harm).",
	"import.limit":        "Files of up to 32 MiB (about 300,000 rows), as for the API import (POST /api/v1/beneficiaries/import).",
	"import.file":         "Registry file",
	"import.do":           "Import",
	"import.no_file":      "Choose a file to import.",
	"import.empty":        "The file is empty.",
	"import.done":         "Imported, with no bad rows.",
	"import.bad_rows":     "The file has %d errors; their rows were not imported, every other row was.",
	"import.result":       "Result",
	"import.created":      "Created",
	"import.updated":      "Updated",
	"import.unchanged":    "Unchanged",
	"import.errors":       "Errors",
	"import.people":       "people",
	"import.line":         "Line",
	"import.field":        "Column",
	"import.message":      "Message",
	"import.lookup":       "Look a person up",

	"import.field.id_number":      "ID number",
	"import.field.id_type":        "ID type",
	"import.field.name":           "Name",
	"import.field.county_code":    "County code",
	"import.field.household_id":   "Household",
	"import.field.payout_account": "Payout account",
	"import.field.kind":           "Kind (category/residency)",
	"import.field.value":          "Category or residency",
	"import.field.valid_from":     "Valid from",
	"import.field.valid_to":       "Valid to",
	"import.field.township":       "Township",
	"import.field.village":        "Village",
	"import.field.bank_name":      "Bank",
	"import.field.header":         "Header",
	"import.field.row":            "Whole row",
	"import.field.body":           "File",
	"import.field.file":           "File",
}
