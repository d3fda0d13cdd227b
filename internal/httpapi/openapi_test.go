package httpapi

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/atende/atende"
)

var update = flag.Bool("update", false, "rewrite docs/openapi.json from the routes")

var goldenOpenAPI = filepath.Join("..", "..", "docs", "openapi.json")

// TestOpenAPIDocumentIsCurrent keeps the published docs/openapi.json equal to
// what the server serves; run `go test ./internal/httpapi -update` after
// changing routes.
func TestOpenAPIDocumentIsCurrent(t *testing.T) {
	a := newTestAPI(t)
	resp := a.do("GET", apiPrefix+"/openapi.json", "", nil, nil, nil)
	served := readAll(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("openapi.json: %d", resp.StatusCode)
	}
	if *update {
		if err := os.WriteFile(goldenOpenAPI, []byte(served), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	golden, err := os.ReadFile(goldenOpenAPI)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/httpapi -run OpenAPI -update)", err)
	}
	if string(golden) != served {
		t.Fatal("docs/openapi.json differs from the served document; run go test ./internal/httpapi -run OpenAPI -update and commit it")
	}
}

// TestEveryDocumentedOperationIsServed sends a request to every operation in
// the document and checks the router knows it (neither 405 nor the
// catch-all 404), and that every registered route is documented.
func TestEveryDocumentedOperationIsServed(t *testing.T) {
	a := newTestAPI(t)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(a.srv.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	wildcard := regexp.MustCompile(`\{[a-z_]+\}`)
	for path, ops := range doc.Paths {
		for method := range ops {
			m := strings.ToUpper(method)
			documented[m+" "+path] = true
			concrete := apiPrefix + wildcard.ReplaceAllString(path, atende.NewID())
			resp := a.do(m, concrete, a.tokens["admin"], nil, map[string]string{"If-Match": "*"}, nil)
			body := readAll(t, resp)
			if resp.StatusCode == 405 || strings.Contains(body, "no such API endpoint") {
				t.Errorf("%s %s is documented but not served: %d %s", m, path, resp.StatusCode, body)
			}
		}
	}
	if len(documented) != len(a.srv.routes) {
		t.Errorf("%d documented operations, %d routes", len(documented), len(a.srv.routes))
	}
	for _, rt := range a.srv.routes {
		if !documented[rt.Method+" "+rt.Path] {
			t.Errorf("route %s %s is not documented", rt.Method, rt.Path)
		}
		if rt.Summary == "" || rt.Tag == "" || (!rt.Public && rt.Perm == "" && !strings.HasPrefix(rt.Path, "/auth/")) {
			t.Errorf("route %s %s lacks a summary, tag or permission", rt.Method, rt.Path)
		}
	}
}

// TestProblemTypesAreDocumented checks docs/problems.md explains every
// problem type the API can answer with.
func TestProblemTypesAreDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "problems.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range ProblemCodes() {
		if !strings.Contains(string(b), "`"+problemBase+code+"`") {
			t.Errorf("docs/problems.md does not describe %s%s", problemBase, code)
		}
	}
}
