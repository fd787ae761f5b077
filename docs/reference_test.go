package docs

import (
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"
)

// TestReferenceListsEveryOperation: the /docs page names every operation of
// the document with its roles, and fetches nothing from elsewhere.
func TestReferenceListsEveryOperation(t *testing.T) {
	page, err := Reference()
	require.NoError(t, err)
	html := string(page)
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPI)
	require.NoError(t, err)
	n := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			n++
			require.Contains(t, html, `<span class="m `+method+`">`+method+`</span><span class="path">`+path+`</span>`)
			if roles, ok := op.Extensions["x-roles"].([]any); ok && len(roles) > 0 {
				require.Contains(t, html, "<span>"+roles[0].(string)+"</span>")
			}
		}
	}
	require.Greater(t, n, 30)
	for name := range doc.Components.Schemas {
		require.Contains(t, html, `id="schema-`+name+`"`)
	}
	require.NotRegexp(t, `(?i)(src|href)\s*=\s*"(https?:)?//|@import|url\(`, html, "the page must work offline: nothing is fetched from elsewhere")
	require.True(t, strings.HasPrefix(html, "<!doctype html>"))
}
