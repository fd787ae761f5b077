// The package map of the README's Layout section, checked: which package may
// import which, and which package's SQL may name which table. A change that
// breaks the layout fails here, not in a later review.
package huimin_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The domain packages, from the bottom up: each may import those before it.
var domain = []string{"huimin/ledger", "huimin/policies", "huimin/claims", "huimin/payouts", "huimin/prevention", "huimin/console"}

// wiring packages import the domain; nothing in the domain imports them.
var wiring = []string{"huimin/server", "huimin/server/servertest", "huimin/cmd/huimin", "huimin/cmd/huimin-load"}

type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Deps       []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	require.NoError(t, err, "go list")
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p pkg
		require.NoError(t, dec.Decode(&p))
		pkgs = append(pkgs, p)
	}
	require.NotEmpty(t, pkgs)
	return pkgs
}

// forbidden says which project packages p may not depend on, even
// indirectly.
func forbidden(p string) []string {
	switch {
	case strings.HasPrefix(p, "huimin/internal/") || p == "huimin/migrations" || p == "huimin/docs":
		return append(slices.Clone(domain), wiring...)
	case slices.Contains(domain, p):
		i := slices.Index(domain, p)
		return append(slices.Clone(domain[i+1:]), wiring...)
	}
	return nil
}

// TestImportsFollowTheLayout: internal/ is plumbing and imports no domain
// package; ledger ← policies ← claims ← payouts (an arrow: "is imported
// by"); only server and cmd wire them. `go list -deps` is the proof, so an
// indirect import counts too.
func TestImportsFollowTheLayout(t *testing.T) {
	for _, p := range listPackages(t) {
		bad := forbidden(p.ImportPath)
		if bad == nil {
			continue
		}
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", p.ImportPath).Output()
		require.NoError(t, err)
		for _, dep := range strings.Fields(string(out)) {
			require.False(t, slices.Contains(bad, dep), "%s depends on %s, which the layout forbids", p.ImportPath, dep)
		}
	}
}

// TestEachTableHasOneOwner: a table belongs to the package that declares
// its row type (a TableName method). Another package's code names neither
// the table in SQL (Table, Raw, Exec, Joins) nor its row type as a GORM
// model: it asks the owner through a function. Tests may read any table to
// check stored state, and so may the test-support packages, which also
// write fixtures straight into tables (the fast path of the race tests);
// migrations create them all.
func TestEachTableHasOneOwner(t *testing.T) {
	pkgs := listPackages(t)
	owner := map[string]string{}    // table → package
	rowTypes := map[string]string{} // "pkgname.Type" → table
	files := map[string][]*ast.File{}
	fset := token.NewFileSet()
	for _, p := range pkgs {
		for _, f := range p.GoFiles {
			af, err := parser.ParseFile(fset, filepath.Join(p.Dir, f), nil, 0)
			require.NoError(t, err)
			files[p.ImportPath] = append(files[p.ImportPath], af)
			for _, d := range af.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok || fn.Name.Name != "TableName" || fn.Recv == nil || len(fn.Body.List) != 1 {
					continue
				}
				ret, ok := fn.Body.List[0].(*ast.ReturnStmt)
				if !ok || len(ret.Results) != 1 {
					continue
				}
				lit, ok := ret.Results[0].(*ast.BasicLit)
				if !ok {
					continue
				}
				table, _ := strconv.Unquote(lit.Value)
				require.NotContains(t, owner, table, "table %s has two owners: %s and %s", table, owner[table], p.ImportPath)
				owner[table] = p.ImportPath
				recv := fn.Recv.List[0].Type
				if st, ok := recv.(*ast.StarExpr); ok {
					recv = st.X
				}
				if id, ok := recv.(*ast.Ident); ok {
					rowTypes[filepath.Base(p.ImportPath)+"."+id.Name] = table
				}
			}
		}
	}
	require.Contains(t, owner, "claims")
	require.Contains(t, owner, "ledger_entries")
	require.Contains(t, owner, "budgets")

	for path, afs := range files {
		if slices.Contains([]string{"huimin/migrations", "huimin/server/servertest", "huimin/internal/testdb"}, path) {
			continue
		}
		for _, af := range afs {
			ast.Inspect(af, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					sel, ok := n.Fun.(*ast.SelectorExpr)
					if !ok || !slices.Contains([]string{"Table", "Raw", "Exec", "Joins"}, sel.Sel.Name) || len(n.Args) == 0 {
						return true
					}
					if lit, ok := n.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						sql, _ := strconv.Unquote(lit.Value)
						for table, own := range owner {
							if own != path && mentions(sql, table) {
								t.Errorf("%s: %s names table %s, which %s owns", fset.Position(n.Pos()), path, table, own)
							}
						}
					}
				case *ast.CompositeLit:
					sel, ok := n.Type.(*ast.SelectorExpr)
					if !ok {
						return true
					}
					x, ok := sel.X.(*ast.Ident)
					if !ok {
						return true
					}
					if table, ok := rowTypes[x.Name+"."+sel.Sel.Name]; ok && owner[table] != path && isModelArg(af, n) {
						t.Errorf("%s: %s queries %s.%s (table %s) directly", fset.Position(n.Pos()), path, x.Name, sel.Sel.Name, table)
					}
				}
				return true
			})
		}
	}
}

// mentions reports sql naming table as a whole word.
func mentions(sql, table string) bool {
	for i := 0; ; {
		j := strings.Index(sql[i:], table)
		if j < 0 {
			return false
		}
		j += i
		before := j == 0 || !isWord(sql[j-1])
		after := j+len(table) == len(sql) || !isWord(sql[j+len(table)])
		if before && after {
			return true
		}
		i = j + 1
	}
}

func isWord(b byte) bool {
	return b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// isModelArg reports lit used as &T{} in a GORM call that picks a table:
// Model, Find, Take, First, Create, Delete, Save.
func isModelArg(af *ast.File, lit *ast.CompositeLit) bool {
	found := false
	ast.Inspect(af, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || found {
			return !found
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || !slices.Contains([]string{"Model", "Find", "Take", "First", "Create", "Delete", "Save", "Scan"}, sel.Sel.Name) {
			return true
		}
		for _, a := range call.Args {
			if u, ok := a.(*ast.UnaryExpr); ok && u.X == lit {
				found = true
			}
			if a == lit {
				found = true
			}
		}
		return true
	})
	return found
}
