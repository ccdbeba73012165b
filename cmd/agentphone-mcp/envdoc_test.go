package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/agentphone-mcp/agentphone-mcp/server"
)

// envVar is one row of the README's configuration table.
type envVar struct {
	name, flag, def, meaning string
}

// envMarkdown generates the README's environment-variable table from server/config.go: the
// secrets' constants (EnvAPIKey, ...) and then every Config field with an env tag, in source
// order. The meaning is the doc comment; its "Default:" line, else the envDefault tag, gives
// the default; the flag is the serve flag whose usage names the variable in brackets.
func envMarkdown(t *testing.T) string {
	t.Helper()
	vars := envVars(t)
	var b strings.Builder
	b.WriteString("| Variable | Default | Meaning |\n|---|---|---|\n")
	for _, v := range vars {
		name := "`" + v.name + "`"
		if v.flag != "" {
			name += " [`--" + v.flag + "`]"
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", name, v.def, strings.ReplaceAll(v.meaning, "|", "\\|"))
	}
	return b.String()
}

var bracketedEnv = regexp.MustCompile(`\[(AGENTPHONE_[A-Z0-9_]+)\]`)

func envVars(t *testing.T) []envVar {
	t.Helper()
	flags := map[string]string{}
	var cfg server.Config
	serveFlags("serve", &cfg, io.Discard).VisitAll(func(f *flag.Flag) {
		if m := bracketedEnv.FindStringSubmatch(f.Usage); m != nil {
			flags[m[1]] = f.Name
		}
	})
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, filepath.Join("..", "..", "server", "config.go"), nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var out []envVar
	seen := map[string]bool{}
	add := func(name string, doc *ast.CommentGroup, tagDefault string, isBool bool) {
		meaning, def := splitDoc(doc)
		if meaning == "" {
			t.Errorf("%s has no doc comment in server/config.go; write what it does (it becomes the README row)", name)
		}
		switch {
		case def != "":
		case tagDefault != "":
			def = "`" + tagDefault + "`"
		case isBool:
			def = "`false`"
		default:
			def = "(none)"
		}
		seen[name] = true
		out = append(out, envVar{name: name, flag: flags[name], def: def, meaning: meaning})
	}
	ast.Inspect(file, func(n ast.Node) bool {
		decl, ok := n.(*ast.GenDecl)
		if !ok || decl.Tok != token.CONST {
			return true
		}
		for _, spec := range decl.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, ident := range vs.Names {
				if !strings.HasPrefix(ident.Name, "Env") || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok {
					continue
				}
				name, _ := strconv.Unquote(lit.Value)
				add(name, vs.Doc, "", false)
			}
		}
		return false
	})
	ast.Inspect(file, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != "Config" {
			return true
		}
		for _, field := range ts.Type.(*ast.StructType).Fields.List {
			if field.Tag == nil {
				continue
			}
			tagText, _ := strconv.Unquote(field.Tag.Value)
			tag := reflect.StructTag(tagText)
			name := tag.Get("env")
			if name == "" {
				continue
			}
			ident, _ := field.Type.(*ast.Ident)
			add(name, field.Doc, tag.Get("envDefault"), ident != nil && ident.Name == "bool")
		}
		return false
	})
	// Every env tag of the compiled Config is in the table (the parse read the right file).
	rt := reflect.TypeOf(server.Config{})
	for i := 0; i < rt.NumField(); i++ {
		if name := rt.Field(i).Tag.Get("env"); name != "" && !seen[name] {
			t.Errorf("Config field %s (%s) is missing from the generated table", rt.Field(i).Name, name)
		}
	}
	for env := range flags {
		if !seen[env] {
			t.Errorf("a serve flag names %s, which is not in server/config.go", env)
		}
	}
	return out
}

// splitDoc returns a doc comment's text as one line, and its "Default:" line's value.
func splitDoc(doc *ast.CommentGroup) (meaning, def string) {
	if doc == nil {
		return "", ""
	}
	var lines []string
	for _, line := range strings.Split(strings.TrimSpace(doc.Text()), "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "Default:"); ok {
			def = strings.TrimSpace(v)
			continue
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, " "), def
}
