package i18n

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// messageFormat is one format the code passes to a function whose text a
// client reads, and where.
type messageFormat struct {
	format, at string
}

// messageFormats walks the module's Go code (not tests, not cmd/, whose
// words are for the operator's terminal) for the formats of messages a
// client reads: apperr.New and apperr.Invalid, the field errors of
// apperr.Fields.Add and of the JSON decoder (note, add), apperr.Error
// literals, and the fmt.Sprintf, fmt.Errorf and errors.New texts that
// validators hand on as field messages ("must …", "is …", "not a …").
func messageFormats(t *testing.T) []messageFormat {
	t.Helper()
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	var out []messageFormat
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			switch filepath.ToSlash(rel) {
			case "cmd", "internal/testdb", "server/servertest", "internal/i18n", ".git":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		inDB := strings.HasPrefix(filepath.ToSlash(rel), "internal/db/")
		add := func(lit ast.Expr) {
			bl, ok := lit.(*ast.BasicLit)
			if !ok || bl.Kind != token.STRING {
				return
			}
			s, err := strconv.Unquote(bl.Value)
			if err != nil || !hasWord(s) {
				return
			}
			out = append(out, messageFormat{s, fset.Position(bl.Pos()).String()})
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CompositeLit:
				if sel, ok := n.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Error" && isIdent(sel.X, "apperr") {
					for _, el := range n.Elts {
						if kv, ok := el.(*ast.KeyValueExpr); ok && isIdent(kv.Key, "Message") {
							add(kv.Value)
						}
					}
				}
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				switch {
				case sel.Sel.Name == "New" && isIdent(sel.X, "apperr"),
					sel.Sel.Name == "Invalid" && isIdent(sel.X, "apperr"),
					sel.Sel.Name == "Add" && !inDB,
					sel.Sel.Name == "note", sel.Sel.Name == "add":
					if len(n.Args) > 1 {
						add(n.Args[1])
					}
				case (sel.Sel.Name == "Sprintf" || sel.Sel.Name == "Errorf") && isIdent(sel.X, "fmt"),
					sel.Sel.Name == "New" && isIdent(sel.X, "errors"):
					if len(n.Args) > 0 {
						if bl, ok := n.Args[0].(*ast.BasicLit); ok && validatorWords(bl.Value) {
							add(bl)
						}
					}
				}
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	require.Greater(t, len(out), 150, "the walk found the code's messages")
	return out
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

// hasWord reports a format with words in it (not "%s", not "[%d]").
func hasWord(s string) bool {
	letters := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '%' && i+1 < len(s):
			i++ // the verb's letter is no word
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letters++
		}
	}
	return letters >= 3
}

// validatorWords reports a literal that reads as a field message.
func validatorWords(quoted string) bool {
	s, err := strconv.Unquote(quoted)
	if err != nil {
		return false
	}
	for _, p := range []string{"must ", "is ", "not a ", "unknown field", "character", "check character", "birth year", "the check"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// TestEveryMessageOfTheCodeHasChinese: each message format found in the code
// has its Chinese entry, keyed by the very same English format. A new
// apperr.New("…") or Fields.Add(field, "…") without one fails here, naming
// the file and line: add the entry to zh_messages.go.
func TestEveryMessageOfTheCodeHasChinese(t *testing.T) {
	known := map[string]bool{}
	for _, list := range [][]entry{zhMessages, zhReasons, zhBreakdown} {
		for _, e := range list {
			known[e.en] = true
		}
	}
	var missing []string
	for _, m := range messageFormats(t) {
		if !known[m.format] {
			missing = append(missing, m.at+": "+strconv.Quote(m.format))
		}
	}
	slices.Sort(missing)
	require.Empty(t, missing, "message formats without a Chinese entry in zh_messages.go:\n%s", strings.Join(missing, "\n"))
}

// TestCatalogueEntriesAreUsed: an entry whose words the code no longer
// writes anywhere is left over from a message that was reworded or removed.
// Entries need not be formats of the checked calls — breakdown lines are
// built of parts, helpers return texts that others pass on — so the check
// is on words: every word of an entry's English is a word of some string
// literal of the code.
func TestCatalogueEntriesAreUsed(t *testing.T) {
	words := map[string]bool{}
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") ||
			strings.Contains(filepath.ToSlash(path), "internal/i18n/") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if bl, ok := n.(*ast.BasicLit); ok && bl.Kind == token.STRING {
				s, _ := strconv.Unquote(bl.Value)
				for _, w := range wordsOf(s) {
					words[w] = true
				}
			}
			return true
		})
		return nil
	})
	require.NoError(t, err)
	// Echo's own errors carry net/http's status texts.
	for _, w := range wordsOf(http.StatusText(http.StatusUnsupportedMediaType)) {
		words[w] = true
	}
	var stale []string
	for _, list := range [][]entry{zhMessages, zhReasons, zhBreakdown} {
		for _, e := range list {
			for _, w := range wordsOf(e.en) {
				if !words[w] {
					stale = append(stale, fmt.Sprintf("%q (the code has no %q)", e.en, w))
					break
				}
			}
		}
	}
	require.Empty(t, stale, "catalogue entries the code no longer writes:\n%s", strings.Join(stale, "\n"))
}

// wordsOf returns the runs of three or more ASCII letters of s, verbs aside.
func wordsOf(s string) []string {
	var out []string
	start := -1
	for i := 0; i <= len(s); i++ {
		letter := i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z')
		if i < len(s) && s[i] == '%' && i+1 < len(s) {
			if start >= 0 && i-start >= 3 {
				out = append(out, s[start:i])
			}
			start = -1
			i++
			continue
		}
		switch {
		case letter && start < 0:
			start = i
		case !letter && start >= 0:
			if i-start >= 3 {
				out = append(out, s[start:i])
			}
			start = -1
		}
	}
	return out
}
