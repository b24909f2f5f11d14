package console

import (
	"html/template"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/krslab/krslab/api/report"
	"github.com/krslab/krslab/experiment"
	"github.com/krslab/krslab/stats/i18n"
)

// The pages: each template file defines "content" (and "title"); layout.tmpl wraps it.
var pageNames = []string{"signin", "link", "error", "list", "experiment", "new", "outcomes", "newoutcome", "power"}

func parsePages() map[string]*template.Template {
	funcs := template.FuncMap{
		"join":     strings.Join,
		"split":    strings.Fields,
		"contains": slices.Contains[[]string],
		"field":    func(prefix string, i int, name string) string { return prefix + "[" + strconv.Itoa(i) + "]." + name },
		"dict":     dict,
		// attr marks attributes written in a template (never data) as such.
		"attr": func(s string) template.HTMLAttr { return template.HTMLAttr(s) }, //nolint:gosec // template constants only
		"add":  func(a, b int) int { return a + b },
	}
	out := map[string]*template.Template{}
	for _, name := range pageNames {
		out[name] = template.Must(template.New("layout.tmpl").Funcs(funcs).
			ParseFS(templateFiles, "templates/layout.tmpl", "templates/"+name+".tmpl"))
	}
	return out
}

// text is a console message (stats/i18n, ids under "console.").
func text(lang, id string, args ...any) string { return i18n.T(lang, "console."+id, args...) }

// StatusText is an experiment's status in words, as the report writes it.
func (r *request) StatusText(status string) string {
	return report.StatusText(experiment.Status(status), r.Lang)
}

// Num, Count and Date format for the page's language.
func (r *request) Num(x float64, decimals int) string { return i18n.Num(x, decimals, r.Lang) }
func (r *request) Count(n int64) string               { return i18n.Count(n, r.Lang) }
func (r *request) Date(t time.Time) string            { return i18n.Date(t, r.Lang) }

// dict builds a template's arguments from name, value pairs.
func dict(kv ...any) map[string]any {
	m := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		m[k] = kv[i+1]
	}
	return m
}
