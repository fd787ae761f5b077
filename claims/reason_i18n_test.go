package claims

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"huimin/internal/i18n"
)

// Every reason a claim can carry reads in Chinese (DESIGN §16): its message,
// whose English is reasonText's, and its short name for reports and pages.
func TestEveryReasonHasChinese(t *testing.T) {
	han := regexp.MustCompile(`^\p{Han}`)
	for code, en := range reasonText {
		zh, ok := i18n.Translate(i18n.Chinese, en)
		require.Truef(t, ok, "reason %s: no Chinese for %q (internal/i18n/zh_reasons.go)", code, en)
		require.Regexp(t, han, zh)
		name := i18n.Name(i18n.Chinese, "reason", code)
		require.NotEqual(t, code, name, "reason %s has a Chinese name", code)
		require.Contains(t, zh, name, "the message starts with the reason's name")
		require.Equal(t, en, i18n.Message(i18n.English, reason(code).Message))
	}
	require.Len(t, reasonText, 14)
}
