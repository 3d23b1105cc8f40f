package main

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The committed document (make check-generate keeps it the converter's
// output) read as a client would.
func committed(t *testing.T) obj {
	t.Helper()
	raw, err := os.ReadFile("../openapi/motor.openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var d obj
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

var placeholder = regexp.MustCompile(`\{([^}]+)\}`)

func TestDocumentShape(t *testing.T) {
	d := committed(t)
	if d["openapi"] != "3.1.0" {
		t.Fatalf("openapi = %v", d["openapi"])
	}
	info := d["info"].(obj)
	if info["title"] != "Motor API" || info["version"] == "" || info["version"] == "version not set" {
		t.Errorf("info = %v", info)
	}
	access, err := accessByOperation()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	ops := 0
	for tmpl, item := range d["paths"].(obj) {
		if strings.Contains(tmpl, "{name") || strings.Contains(tmpl, "{parent") || strings.Contains(tmpl, "=") {
			t.Errorf("path %s is not expanded into its segments", tmpl)
		}
		var inPath []string
		for _, m := range placeholder.FindAllStringSubmatch(tmpl, -1) {
			inPath = append(inPath, m[1])
		}
		for method, op := range item.(obj) {
			op := op.(obj)
			ops++
			id, _ := op["operationId"].(string)
			if id == "" || ids[id] {
				t.Errorf("%s %s: operationId %q missing or repeated", method, tmpl, id)
			}
			ids[id] = true
			var declared []string
			for _, p := range asSlice(op["parameters"]) {
				p := p.(obj)
				name := p["name"].(string)
				if name == "return" || strings.HasPrefix(name, "name_") {
					t.Errorf("%s %s: parameter %q", method, tmpl, name)
				}
				if p["in"] == "path" {
					declared = append(declared, name)
				}
			}
			if !slices.Equal(inPath, declared) {
				t.Errorf("%s %s: path parameters %v, template names %v", method, tmpl, declared, inPath)
			}
			rule := access[strings.TrimRight(id, "0123456789")]
			sec := asSlice(op["security"])
			if needs := len(rule.Roles) > 0; needs != (len(sec) == 1) {
				t.Errorf("%s (%s %s): security %v, but the access table's roles are %v", id, method, tmpl, sec, rule.Roles)
			}
			if _, ok := asObj(op["responses"])["default"]; !ok {
				t.Errorf("%s: no default (error) response", id)
			}
		}
	}
	if ops < 100 {
		t.Errorf("only %d operations", ops)
	}
	schemas := d["components"].(obj)["schemas"].(obj)
	for _, c := range []struct{ schema, field string }{
		{"Idea", "createTime"}, {"Idea", "mergedInto"}, {"Need", "statement"}, {"Subproject", "grantedOre"}, {"TestPlan", "state"},
	} {
		p := asObj(asObj(asObj(schemas[c.schema])["properties"])[c.field])
		if p["readOnly"] != true {
			t.Errorf("%s.%s is output only but not readOnly: %v", c.schema, c.field, p)
		}
	}
	if p := asObj(asObj(schemas["Idea"].(obj)["properties"])["title"]); p["readOnly"] == true {
		t.Errorf("Idea.title is readOnly")
	}
	for _, n := range []string{"Status", "ErrorInfo", "BadRequest"} {
		if _, ok := schemas[n]; !ok {
			t.Errorf("no %s schema", n)
		}
	}
}

func TestExamplesAndFilters(t *testing.T) {
	d := committed(t)
	byID := map[string]obj{}
	for _, item := range d["paths"].(obj) {
		for _, op := range item.(obj) {
			byID[op.(obj)["operationId"].(string)] = op.(obj)
		}
	}
	for id := range requestExamples() {
		op, ok := byID[id]
		if !ok {
			t.Errorf("example for %s, which is no operation", id)
			continue
		}
		mt := asObj(asObj(asObj(op["requestBody"])["content"])["application/json"])
		if mt["example"] == nil {
			t.Errorf("%s: no example in the request body", id)
		}
	}
	lists := 0
	for id, op := range byID {
		for _, p := range asSlice(op["parameters"]) {
			p := p.(obj)
			if p["name"] != "filter" {
				continue
			}
			lists++
			desc, _ := p["description"].(string)
			if !strings.Contains(desc, "Filter grammar") {
				t.Errorf("%s: filter parameter without the grammar: %q", id, desc)
			}
		}
	}
	if lists < 6 {
		t.Errorf("only %d lists take a filter", lists)
	}
}

func TestReadablePath(t *testing.T) {
	for in, want := range map[string]string{
		"/v1/regions/{region}/categories/{categorie}":                                    "/v1/regions/{region}/categories/{category}",
		"/v1/regions/{region}/webhookSubscriptions/{w}/deliveries/{deliverie}:redeliver": "/v1/regions/{region}/webhookSubscriptions/{webhookSubscription}/deliveries/{delivery}:redeliver",
		"/v1/regions/{region}/ideas/{idea}:transition":                                   "/v1/regions/{region}/ideas/{idea}:transition",
	} {
		if got, _ := readablePath(in); got != want {
			t.Errorf("readablePath(%s) = %s, want %s", in, got, want)
		}
	}
}
