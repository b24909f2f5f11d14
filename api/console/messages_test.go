package console_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/krslab/krslab/stats/i18n"
)

// TestConsoleMessagesExist: every message id the console's templates and code name (short
// ids, which text prefixes with "console.") is in the catalogue, in both languages (the
// catalogue's own test), so that no page shows an id where a text belongs. An id made from
// a value (printf "kind.%s" over a split list, or "role." + a value) is checked for each
// value the template lists, else for its prefix.
func TestConsoleMessagesExist(t *testing.T) {
	var (
		literal  = regexp.MustCompile(`(?:\.T|\bT\(|\btext\([^,()]+,) ?"([a-z0-9_]+(?:\.[a-z0-9_]+)*)"`)
		ranged   = regexp.MustCompile(`\$(\w+) := \(?split "([^"]+)"\)?.*?T \(printf "([a-z0-9_.]+)%s" \$(\w+)\)`)
		printfed = regexp.MustCompile(`T \(printf "([a-z0-9_.]+)%s"`)
		joined   = regexp.MustCompile(`\bT\("([a-z0-9_.]+\.)" *\+`)
	)
	files, err := filepath.Glob("templates/*.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	sources, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range sources {
		if !strings.HasSuffix(f, "_test.go") {
			files = append(files, f)
		}
	}
	has := func(where, id string) {
		t.Helper()
		if !i18n.Has("console." + id) {
			t.Errorf("%s: no message console.%s", where, id)
		}
	}
	hasPrefix := func(where, prefix string) {
		t.Helper()
		for _, id := range i18n.IDs() {
			if strings.HasPrefix(id, "console."+prefix) {
				return
			}
		}
		t.Errorf("%s: no message starts with console.%s", where, prefix)
	}
	checked := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for n, line := range strings.Split(string(src), "\n") {
			if strings.HasPrefix(strings.TrimSpace(line), "//") {
				continue
			}
			where := f + ":" + strconv.Itoa(n+1)
			for _, m := range literal.FindAllStringSubmatch(line, -1) {
				has(where, m[1])
				checked++
			}
			covered := map[string]bool{}
			for _, m := range ranged.FindAllStringSubmatch(line, -1) {
				if m[1] != m[4] {
					continue
				}
				for _, v := range strings.Fields(m[2]) {
					has(where, m[3]+v)
					checked++
				}
				covered[m[3]] = true
			}
			for _, m := range printfed.FindAllStringSubmatch(line, -1) {
				if !covered[m[1]] {
					hasPrefix(where, m[1])
					checked++
				}
			}
			for _, m := range joined.FindAllStringSubmatch(line, -1) {
				hasPrefix(where, m[1])
				checked++
			}
		}
	}
	t.Logf("%d message ids checked in %d files", checked, len(files))
	if checked < 100 {
		t.Errorf("only %d message ids found in the console's sources: the patterns no longer match them", checked)
	}
}

// TestServiceProblemsAreInDutch: every format the service words a refusal with, as a
// literal, has a Dutch text: the formats of Problems.Field, Row and Err, of Textf and
// Errorf, the whole texts of an Error's or a Detail's Message and the constants named
// ...Message, in the experiment package, its store and the console. A format that only
// passes another text on ("%s") needs none. What it cannot see is shown in English: a
// message put together by fmt.Sprintf or by concatenation, and the errors of other
// packages (stats, api) passed on as text.
func TestServiceProblemsAreInDutch(t *testing.T) {
	var sources []string
	for _, dir := range []string{filepath.Join("..", "..", "experiment"), filepath.Join("..", "..", "experiment", "postgres"), "."} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		sources = append(sources, files...)
	}
	formats := map[string]string{} // format: where first seen
	for _, path := range sources {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		found := func(lit ast.Expr) {
			l, ok := lit.(*ast.BasicLit)
			if !ok || l.Kind != token.STRING {
				return
			}
			format, err := strconv.Unquote(l.Value)
			if err != nil {
				t.Fatal(err)
			}
			if _, seen := formats[format]; !seen && format != "%s" {
				formats[format] = fset.Position(l.Pos()).String()
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if v, ok := n.(*ast.ValueSpec); ok {
				for i, name := range v.Names {
					if strings.HasSuffix(name.Name, "Message") && i < len(v.Values) {
						found(v.Values[i]) // a message kept in a constant
					}
				}
				return true
			}
			if kv, ok := n.(*ast.KeyValueExpr); ok {
				if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Message" {
					found(kv.Value) // a whole text: Problem finds it as it is
				}
				return true
			}
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			var name string
			switch fn := call.Fun.(type) {
			case *ast.Ident:
				name = fn.Name
			case *ast.SelectorExpr:
				if x, ok := fn.X.(*ast.Ident); ok && x.Name == "fmt" {
					return true
				}
				name = fn.Sel.Name
			}
			at := map[string]int{"Field": 1, "Row": 2, "Textf": 0, "Errorf": 1, "Err": 0}
			i, ok := at[name]
			if !ok || len(call.Args) <= i {
				return true
			}
			found(call.Args[i])
			return true
		})
	}
	if len(formats) < 100 {
		t.Fatalf("found %d formats; the scan no longer sees the service's", len(formats))
	}
	for format, where := range formats {
		if !i18n.HasProblem(format) {
			t.Errorf("%s: %q has no Dutch text", where, format)
		}
	}
}
