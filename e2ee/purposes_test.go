package e2ee

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPurposeListIsComplete: purposes is the one place the daemon's envelope
// purposes are listed, and the vectors are checked against it. Every Purpose
// constant of the package must be in it exactly once and it must hold nothing
// else, so a purpose cannot be added as a constant and forgotten in the list.
func TestPurposeListIsComplete(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]string{} // value → constant name
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				for i, id := range vs.Names {
					if !strings.HasPrefix(id.Name, "Purpose") {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Fatalf("%s: %s is not a string literal", fset.Position(id.Pos()), id.Name)
					}
					v, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					if prev, dup := consts[v]; dup {
						t.Errorf("%s and %s are both %q", prev, id.Name, v)
					}
					consts[v] = id.Name
				}
			}
		}
	}
	if len(consts) == 0 {
		t.Fatal("no Purpose constants found")
	}
	count := map[string]int{}
	for _, p := range purposes {
		count[p]++
	}
	for v, name := range consts {
		if count[v] != 1 {
			t.Errorf("%s (%q) is %d times in purposes, want once", name, v, count[v])
		}
	}
	for p := range count {
		if _, ok := consts[p]; !ok {
			t.Errorf("purposes holds %q, which is no Purpose constant", p)
		}
	}
}
