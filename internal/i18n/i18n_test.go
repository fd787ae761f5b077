package i18n

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFromRequest(t *testing.T) {
	for _, tc := range []struct {
		name, query, accept string
		want                Lang
	}{
		{"nothing asked is English", "", "", English},
		{"zh-CN", "", "zh-CN", Chinese},
		{"zh", "", "zh", Chinese},
		{"a browser set to Chinese", "", "zh-CN,zh;q=0.9,en;q=0.8", Chinese},
		{"a browser set to English", "", "en-US,en;q=0.9,zh-CN;q=0.8", English},
		{"q values decide, not order", "", "en;q=0.5, zh-CN;q=0.9", Chinese},
		{"a language Huimin lacks is English", "", "fr-FR", English},
		{"any language", "", "*", English},
		{"a malformed header is English", "", ";;;", English},
		{"lang=zh", "lang=zh", "", Chinese},
		{"lang=zh-CN", "lang=zh-CN", "", Chinese},
		{"lang wins over the header", "lang=en", "zh-CN", English},
		{"lang=zh over an English header", "lang=zh", "en-US", Chinese},
		{"a malformed lang falls back to the header", "lang=%%%", "zh", Chinese},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api/v1/claims?"+tc.query, nil)
			if tc.accept != "" {
				r.Header.Set("Accept-Language", tc.accept)
			}
			require.Equal(t, tc.want, FromRequest(r))
		})
	}
}

func TestTranslateReadsTheArgumentsBack(t *testing.T) {
	for _, tc := range []struct{ en, zh string }{
		{`no plan "XYZ-1"`, `计划 "XYZ-1" 不存在`},
		{"no plan FPB-2026", "计划 FPB-2026 不存在"},
		{"must be an integer from 1 to 500", "必须是 1 至 500 的整数"},
		{"the household income per capita is not below the prevention line", "超出防贫监测线：家庭人均纯收入不低于防贫监测线"},
		// A nested message: the cap's label inside the cap line.
		{"Household illness cap 100000.00 − already paid for illness this year 2100.00 = room 97900.00",
			"家庭疾病封顶 100,000.00 元 − 本年度疾病已赔付 2,100.00 元，剩余额度 97,900.00 元"},
		// The more specific spelling wins: rounded, not "= 4500.005, rounded …" as one amount.
		{"F(20000.01) = 0.30 × (20000.00 − 5000.00) + 0.50 × (20000.01 − 20000.00) = 4500.005, rounded half-up to the fen 4500.01 [illness tier]",
			"累计基数 20,000.01 元，分段计算：(20,000.00 − 5,000.00) × 30% + (20,000.01 − 20,000.00) × 50% = 4,500.005，四舍五入到分为 4,500.01 元（疾病分段标准）"},
		{"F(8000.00) = 0.80 × (8000.00 − 0.00) = 6400.00 [ratio 0.80 of illness_poverty, the best of the beneficiary's eligible categories]",
			"累计基数 8,000.00 元，分段计算：(8,000.00 − 0.00) × 80% = 6,400.00 元（按受益人符合条件的类别中最优的因病致贫比例 80%）"},
		{"the body must be a JSON object, not a list", "请求内容必须是 JSON 对象，而不是列表"},
		// A reference holding a literal of its own format still reads back whole.
		{"Less 政康保 (ZKB) already paid on bill B-1, not paid twice, not paid twice", "减去政康保（ZKB）已就票据 B-1, not paid twice 赔付的金额，不重复赔付"},
	} {
		got, ok := Translate(Chinese, tc.en)
		require.True(t, ok, tc.en)
		require.Equal(t, tc.zh, got)
		same, ok := Translate(English, tc.en)
		require.True(t, ok)
		require.Equal(t, tc.en, same, "English is the text as written")
	}
	_, ok := Translate(Chinese, "a text no code writes")
	require.False(t, ok)
}

func TestFiltersCheckTheArguments(t *testing.T) {
	// %d must read back as digits: "at most x items" is not this entry's.
	_, ok := Translate(Chinese, "at most many items")
	require.False(t, ok)
	require.Equal(t, "1,234,567.50", grouped("1234567.50"))
	require.Equal(t, "-1,000", grouped("-1000"))
	require.Equal(t, "999", grouped("999"))
	for in, want := range map[string]string{"0.30": "30%", "1.00": "100%", "0.125": "12.5%", "0.0125": "1.25%", "0.00": "0%", "0.05": "5%"} {
		require.Equal(t, want, percent(in), in)
	}
}

func TestNames(t *testing.T) {
	require.Equal(t, "超出防贫监测线", Name(Chinese, "reason", "above_prevention_line"))
	require.Equal(t, "above_prevention_line", Name(English, "reason", "above_prevention_line"))
	require.Equal(t, "内乡县", Name(Chinese, "county", "411325"))
	require.Equal(t, "999999", Name(Chinese, "county", "999999"), "an unknown code is itself")
}

func TestTranslateJSON(t *testing.T) {
	doc := `{"error":{"code":"not_found","message":"no plan \"X\"","fields":[{"field":"limit","message":"must be an integer from 1 to 500"}],"details":{"message":"no plan \"X\""}},"request_id":"r1"}` + "\n"
	out, err := TranslateJSON(Chinese, []byte(doc))
	require.NoError(t, err)
	require.Equal(t, `{"error":{"code":"not_found","message":"计划 \"X\" 不存在","fields":[{"field":"limit","message":"必须是 1 至 500 的整数"}],"details":{"message":"计划 \"X\" 不存在"}},"request_id":"r1"}`+"\n", string(out))

	// Only message and description members; codes, amounts and numbers as they were.
	claim := `{"id":"01J","payable":"13400.00","n":12.50,"reasons":[{"code":"above_prevention_line","message":"the household income per capita is not below the prevention line"}],"breakdown":[{"description":"Payable","amount":"13400.00"}],"cause":"Payable","other":{"description":"Payable"}}`
	out, err = TranslateJSON(Chinese, []byte(claim))
	require.NoError(t, err)
	require.Equal(t, `{"id":"01J","payable":"13400.00","n":12.50,"reasons":[{"code":"above_prevention_line","message":"超出防贫监测线：家庭人均纯收入不低于防贫监测线"}],"breakdown":[{"description":"应付金额","amount":"13400.00"}],"cause":"Payable","other":{"description":"Payable"}}`, string(out))

	// An error message the catalogue does not know keeps its words, after
	// the Chinese name of its code.
	out, err = TranslateJSON(Chinese, []byte(`{"error":{"code":"invalid_state","message":"something new"}}`))
	require.NoError(t, err)
	require.Equal(t, `{"error":{"code":"invalid_state","message":"当前状态不允许此操作：something new"}}`, string(out))

	same, err := TranslateJSON(English, []byte(doc))
	require.NoError(t, err)
	require.Equal(t, doc, string(same))
	_, err = TranslateJSON(Chinese, []byte(`{"a":`))
	require.Error(t, err)
	require.False(t, strings.Contains(string(out), "\n"))
}
