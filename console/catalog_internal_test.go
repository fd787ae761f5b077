package console

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCatalogueHasEveryKey: every key a template or handler names is in
// both languages' tables, and the two tables hold the same UI keys, so no
// page ever shows a bare key or falls back to the other language.
func TestCatalogueHasEveryKey(t *testing.T) {
	uses := regexp.MustCompile(`(?:\.T|\.Tf|r\.T|r\.Tf|text\([a-zA-Z.]+,)\s*\(?"([a-z_]+\.[a-z_.]+)"`)
	files, err := filepath.Glob("templates/*.html")
	require.NoError(t, err)
	gofiles, err := filepath.Glob("*.go")
	require.NoError(t, err)
	keys := map[string]string{}
	for _, f := range append(files, gofiles...) {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range uses.FindAllStringSubmatch(string(b), -1) {
			keys[m[1]] = f
		}
	}
	require.Greater(t, len(keys), 150, "the pattern finds the keys")
	for key, file := range keys {
		_, zh := catalog[LangZH][key]
		_, en := catalog[LangEN][key]
		require.True(t, zh, "%s names %q, which the Chinese table lacks", file, key)
		require.True(t, en, "%s names %q, which the English table lacks", file, key)
	}
	var zh, en []string
	// The words of the pages (not the names of codes, which English may
	// leave as the code): the same keys in both languages.
	for k := range merge(zhUI, zhQueue, zhPrevention, zhAdmin) {
		zh = append(zh, k)
	}
	for k := range merge(enUI, enQueue, enPrevention, enAdmin) {
		en = append(en, k)
	}
	slices.Sort(zh)
	slices.Sort(en)
	require.Equal(t, zh, en)
	// Every code the console names in Chinese.
	for _, kind := range []string{"status", "reason", "kind", "account", "category", "cause"} {
		n := 0
		for k := range zhNames {
			if len(k) > len(kind) && k[:len(kind)+1] == kind+"." {
				n++
				_, ok := enNames[k]
				require.True(t, ok, "%s has no English name", k)
			}
		}
		require.Positive(t, n, kind)
	}
}
