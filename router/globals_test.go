package router

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Invariant 8: no package-level mutable state. Type-check the package and
// verify that no function writes a package-level variable and that none has
// a type that changes through its methods (sync, atomic). Read-only tables
// and error sentinels are fine.
func TestNoPackageLevelMutableState(t *testing.T) {
	fset := token.NewFileSet()
	names, _ := filepath.Glob("*.go")
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	info := &types.Info{Uses: map[*ast.Ident]types.Object{}, Defs: map[*ast.Ident]types.Object{}}
	// Import dependencies from the build cache's export data.
	out, err := exec.Command("go", "list", "-export", "-deps", "-f", "{{.ImportPath}}={{.Export}}", ".").Output()
	if err != nil {
		t.Fatalf("go list (needs the go command, as CI has): %v", err)
	}
	exports := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if path, file, ok := strings.Cut(line, "="); ok && file != "" {
			exports[path] = file
		}
	}
	lookup := func(path string) (io.ReadCloser, error) { return os.Open(exports[path]) }
	conf := types.Config{Importer: importer.ForCompiler(fset, "gc", lookup)}
	pkg, err := conf.Check("github.com/modelroute/modelroute/router", fset, files, info)
	if err != nil {
		t.Fatal(err)
	}
	scope := pkg.Scope()
	isGlobal := func(id *ast.Ident) bool {
		obj := info.Uses[id]
		v, ok := obj.(*types.Var)
		return ok && v.Parent() == scope
	}
	root := func(e ast.Expr) *ast.Ident {
		for {
			switch x := e.(type) {
			case *ast.Ident:
				return x
			case *ast.IndexExpr:
				e = x.X
			case *ast.SelectorExpr:
				e = x.X
			case *ast.StarExpr:
				e = x.X
			case *ast.ParenExpr:
				e = x.X
			default:
				return nil
			}
		}
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			var lhs []ast.Expr
			switch s := n.(type) {
			case *ast.AssignStmt:
				lhs = s.Lhs
			case *ast.IncDecStmt:
				lhs = []ast.Expr{s.X}
			case *ast.UnaryExpr:
				if s.Op == token.AND {
					lhs = []ast.Expr{s.X} // taking a global's address
				}
			}
			for _, e := range lhs {
				if id := root(e); id != nil && isGlobal(id) {
					t.Errorf("%v: writes package-level variable %s", fset.Position(id.Pos()), id.Name)
				}
			}
			return true
		})
	}
	for _, name := range scope.Names() {
		v, ok := scope.Lookup(name).(*types.Var)
		if !ok {
			continue
		}
		ts := v.Type().String()
		if strings.Contains(ts, "sync.") || strings.Contains(ts, "atomic.") {
			t.Errorf("package-level variable %s has mutable type %s", name, ts)
		}
	}
}
