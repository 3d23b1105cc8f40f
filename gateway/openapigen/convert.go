package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/innovationsmotorer/motor/internal/auth"
)

// Options are what the build gives the document.
type Options struct {
	// Version is info.version.
	Version string
}

// obj is one JSON object of the documents.
type obj = map[string]any

// Convert turns a protoc-gen-openapiv2 document into the OpenAPI 3.1
// document of Motor's REST API.
func Convert(swagger []byte, o Options) ([]byte, error) {
	var src obj
	if err := json.Unmarshal(swagger, &src); err != nil {
		return nil, fmt.Errorf("json.Unmarshal: %w", err)
	}
	access, err := accessByOperation()
	if err != nil {
		return nil, err
	}
	schemas := obj{}
	for name, s := range asObj(src["definitions"]) {
		schemas[name] = schema(s.(obj))
	}
	markRequired(schemas)
	for name, s := range errorSchemas() {
		schemas[name] = s
	}
	paths := obj{}
	used := map[string]bool{}
	for tmpl, item := range asObj(src["paths"]) {
		tmpl, renames := readablePath(tmpl)
		ops := obj{}
		for method, op := range item.(obj) {
			out, err := operation(method, tmpl, op.(obj), renames, access)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", strings.ToUpper(method), tmpl, err)
			}
			ops[method] = out
			for _, t := range asSlice(out["tags"]) {
				used[t.(string)] = true
			}
		}
		paths[tmpl] = ops
	}
	var tags []any
	for _, t := range asSlice(src["tags"]) {
		t := t.(obj)
		if used[t["name"].(string)] {
			tags = append(tags, t)
		}
	}
	doc := obj{
		"openapi":           "3.1.0",
		"jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
		"info": obj{
			"title":   "Motor API",
			"version": o.Version,
			"summary": "Innovationsmotorns REST-gränssnitt / the innovation engine's REST API",
			"description": "Idéer, behov, partner, delprojekt och finansiering i regionerna och nationellt. " +
				"Ideas, needs, partners, subprojects and funding in the regions and nationally.\n\n" +
				"Every error is a `google.rpc.Status` with an `ErrorInfo` (reason and domain); a wrong request names every wrong field at once in a `BadRequest`. " +
				"Resources carry an `etag`: send it back (in the body or as `If-Match`) to change what you read. " +
				"A create takes a `requestId` (or the `Idempotency-Key` header) so that a retry never creates twice.",
			"contact": obj{"name": "Innovationsmotorn", "url": "https://github.com/innovationsmotorer/motor"},
			"license": obj{"name": "Proprietary", "identifier": "LicenseRef-Proprietary"},
		},
		"servers": []any{obj{"url": "/", "description": "Den här driftsättningen / this deployment"}},
		"tags":    tags,
		"paths":   paths,
		"components": obj{
			"schemas":   schemas,
			"responses": errorResponses(),
			"securitySchemes": obj{"bearer": obj{
				"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
				"description": "A JWT from the deployment's identity provider (in development: `motor token -role advisor -region vasterbotten`).",
			}},
		},
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("json.Encode: %w", err)
	}
	return b.Bytes(), nil
}

func asObj(v any) obj {
	o, _ := v.(obj)
	return o
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// accessByOperation maps the document's operation ids
// (Service_Method) to the access table's rows.
func accessByOperation() (map[string]auth.Rule, error) {
	out := map[string]auth.Rule{}
	for method, rule := range auth.Table() {
		// /innovation.idea.v1.IdeaService/CreateIdea
		full, m, ok := strings.Cut(strings.TrimPrefix(method, "/"), "/")
		if !ok {
			return nil, fmt.Errorf("access table: method %q is not /package.Service/Method", method)
		}
		svc := full[strings.LastIndex(full, ".")+1:]
		id := svc + "_" + m
		if _, dup := out[id]; dup {
			return nil, fmt.Errorf("access table: two services named %s", svc)
		}
		out[id] = rule
	}
	return out, nil
}

// readablePath names each path parameter after the collection before it
// (…/categories/{category}); protoc-gen-openapiv2 only strips a trailing
// "s" ({categorie}). It returns the new template and the renames.
func readablePath(tmpl string) (string, map[string]string) {
	parts := strings.Split(tmpl, "/")
	renames := map[string]string{}
	for i, p := range parts {
		if !strings.HasPrefix(p, "{") || i == 0 {
			continue
		}
		end := strings.Index(p, "}")
		old := p[1:end]
		name := singular(parts[i-1])
		if name != old {
			renames[old] = name
			parts[i] = "{" + name + "}" + p[end+1:]
		}
	}
	return strings.Join(parts, "/"), renames
}

func singular(s string) string {
	switch {
	case strings.HasSuffix(s, "ies"):
		return strings.TrimSuffix(s, "ies") + "y"
	case strings.HasSuffix(s, "ses"):
		return strings.TrimSuffix(s, "es")
	case strings.HasSuffix(s, "s"):
		return strings.TrimSuffix(s, "s")
	}
	return s
}

// outputOnly finds the "Output only" convention of the protos' comments.
var outputOnly = regexp.MustCompile(`(?i)\boutput only\b`)

// requiredMark finds a field comment that says "Required." on its own.
var requiredMark = regexp.MustCompile(`(^|[.;]\s+)Required\.`)

// schema converts one Swagger 2.0 schema to JSON Schema 2020-12.
func schema(s obj) obj {
	out := obj{}
	for k, v := range s {
		switch k {
		case "$ref":
			out[k] = strings.Replace(v.(string), "#/definitions/", "#/components/schemas/", 1)
		case "properties":
			props := obj{}
			for name, p := range v.(obj) {
				ps := schema(p.(obj))
				if d, _ := ps["description"].(string); outputOnly.MatchString(d) || name == "createTime" || name == "updateTime" {
					ps["readOnly"] = true
				}
				props[name] = ps
			}
			out[k] = props
		case "items":
			out[k] = schema(v.(obj))
		case "additionalProperties":
			if a, ok := v.(obj); ok {
				out[k] = schema(a)
			} else {
				out[k] = v
			}
		case "title":
			// Single-line proto comments without a full stop land in title.
			if _, ok := s["description"]; !ok {
				out["description"] = v
			} else {
				out["title"] = v
			}
		case "x-nullable":
		default:
			out[k] = v
		}
	}
	if _, ok := out["$ref"]; ok {
		// A $ref's siblings apply next to it in 3.1; a "type" beside it
		// only repeats what the target says.
		delete(out, "type")
	}
	if d, _ := out["description"].(string); strings.HasPrefix(d, "regions/{") || strings.HasPrefix(d, "programmes/{") {
		out["description"] = "The resource name, " + d + "."
	}
	return out
}

// markRequired lists the properties marked "Required." as required.
func markRequired(schemas obj) {
	for _, s := range schemas {
		s := s.(obj)
		var req []string
		for name, p := range asObj(s["properties"]) {
			if d, _ := p.(obj)["description"].(string); requiredMark.MatchString(d) {
				req = append(req, name)
			}
		}
		if len(req) > 0 {
			sort.Strings(req)
			s["required"] = req
		}
	}
}

// filterGrammar is internal/store/filter's grammar, for every List that
// takes a filter.
const filterGrammar = "\n\nFilter grammar (AIP-160): comparisons `field = value`, `field != value` and `field : value` " +
	"(on a repeated field: has a value equal to it), joined by `AND`, `OR` (which binds tighter than AND) " +
	"or juxtaposition (an implicit AND), negated by `NOT` or a leading `-`, grouped with parentheses. " +
	"Values are bare words or quoted strings (`\"…\"` or `'…'`, `\\` escaping the next character). " +
	"Ordering comparators (`<`, `>`), functions and bare values (global search) are refused with 400 naming the part, " +
	"as is a field the list does not name, and a filter longer than 2000 characters. Enum values are their names (`STAGE_SCREENING`)."

// operation converts one operation.
func operation(method, tmpl string, op obj, renames map[string]string, access map[string]auth.Rule) (obj, error) {
	id, _ := op["operationId"].(string)
	rule, ok := access[id]
	if !ok {
		// An additional binding's operation is numbered: Service_Method2.
		rule, ok = access[strings.TrimRight(id, "0123456789")]
	}
	if !ok {
		return nil, fmt.Errorf("operation %s has no row in the access table", id)
	}
	out := obj{"operationId": id, "tags": op["tags"]}
	summary, _ := op["summary"].(string)
	desc, _ := op["description"].(string)
	full := strings.TrimSpace(strings.Join(nonEmpty(summary, desc), "\n\n"))
	out["summary"] = firstSentence(full)
	var params []any
	hasFilter := false
	for _, p := range asSlice(op["parameters"]) {
		p := p.(obj)
		name := p["name"].(string)
		if in := p["in"].(string); in == "body" {
			sch := schema(p["schema"].(obj))
			if req, ok := createRequired()[id]; ok {
				// The resource's schema is shared with its update, where
				// every field is optional; the create's body requires more.
				sch = obj{"allOf": []any{sch}, "required": req}
			}
			body := obj{
				"required": true,
				"content":  obj{"application/json": mediaType(sch, id)},
			}
			if d, ok := p["description"].(string); ok {
				body["description"] = d
			}
			out["requestBody"] = body
			continue
		}
		if n, ok := renames[name]; ok {
			name = n
		}
		q := obj{"name": name, "in": p["in"]}
		sch := obj{}
		for _, k := range []string{"type", "format", "enum", "default", "pattern"} {
			if v, ok := p[k]; ok {
				sch[k] = v
			}
		}
		if items, ok := p["items"].(obj); ok {
			sch["items"] = schema(items)
			q["explode"] = true
		}
		q["schema"] = sch
		if r, _ := p["required"].(bool); r {
			q["required"] = true
		}
		d, _ := p["description"].(string)
		switch {
		case name == "filter":
			hasFilter = true
			d += filterGrammar
		case name == "requestId" && d == "":
			d = "Makes the call idempotent: a retry with the same id returns the first result."
		case p["in"] == "path" && d == "":
			d = "The " + name + "'s id."
		}
		if d != "" {
			q["description"] = d
		}
		params = append(params, q)
		if name == "requestId" {
			params = append(params, obj{
				"name": "Idempotency-Key", "in": "header",
				"description": "The same as `requestId`; both given and different is 400.",
				"schema":      obj{"type": "string"},
			})
		}
	}
	if method == "patch" {
		params = append(params, obj{
			"name": "updateMask", "in": "query",
			"description": "The fields to change, comma-separated (`title,problem`); without it, the fields the body sets.",
			"schema":      obj{"type": "string"},
		})
	}
	if method == "patch" || method == "delete" || (method == "post" && strings.Contains(tmpl[strings.LastIndex(tmpl, "/"):], ":")) {
		params = append(params, obj{
			"name": "If-Match", "in": "header",
			"description": "The etag as read, when the body names none; a stale one is 412.",
			"schema":      obj{"type": "string"},
		})
	}
	if method == "get" && !hasFilter && strings.HasSuffix(tmpl, "}") {
		params = append(params, obj{
			"name": "If-None-Match", "in": "header",
			"description": "The etag as read: 304 with no body when it is still current.",
			"schema":      obj{"type": "string"},
		})
	}
	if len(params) > 0 {
		out["parameters"] = params
	}
	roles := make([]string, 0, len(rule.Roles))
	for _, r := range rule.Roles {
		roles = append(roles, string(r))
	}
	if len(roles) > 0 {
		full += "\n\nRoller / roles: `" + strings.Join(roles, "`, `") + "`."
		out["security"] = []any{obj{"bearer": []any{}}}
	} else {
		full += "\n\nNo user token reaches this call: only Motor's own services and peer deployments make it."
		out["security"] = []any{}
	}
	out["x-motor-roles"] = roles
	out["description"] = full

	responses := obj{}
	for code, r := range asObj(op["responses"]) {
		r := r.(obj)
		if code == "default" {
			continue
		}
		resp := obj{"description": r["description"]}
		if s, ok := r["schema"].(obj); ok {
			resp["content"] = obj{"application/json": obj{"schema": schema(s)}}
		}
		responses[code] = resp
	}
	responses["400"] = obj{"$ref": "#/components/responses/BadRequest"}
	if len(roles) > 0 {
		responses["401"] = obj{"$ref": "#/components/responses/Unauthenticated"}
	}
	responses["403"] = obj{"$ref": "#/components/responses/PermissionDenied"}
	if strings.Contains(tmpl, "}") {
		responses["404"] = obj{"$ref": "#/components/responses/NotFound"}
	}
	if method != "get" {
		responses["409"] = obj{"$ref": "#/components/responses/Conflict"}
	}
	responses["429"] = obj{"$ref": "#/components/responses/TooManyRequests"}
	responses["default"] = obj{"$ref": "#/components/responses/Error"}
	out["responses"] = responses
	return out, nil
}

func nonEmpty(s ...string) []string {
	return slices.DeleteFunc(s, func(x string) bool { return strings.TrimSpace(x) == "" })
}

// firstSentence is the operation's summary: its comment's first sentence.
func firstSentence(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if i := strings.Index(s, ". "); i >= 0 {
		s = s[:i+1]
	}
	return s
}

// mediaType is a request body's media type, with the example of the main
// requests.
func mediaType(s obj, id string) obj {
	m := obj{"schema": s}
	if ex, ok := requestExamples()[id]; ok {
		m["example"] = ex
	}
	return m
}

// createRequired are the fields a create refuses to go without, by
// operation: what the service's validation names "is required" when
// absent. gateway's TestCreateRequiredFields sends each create without each
// of them to the real service, so the list cannot claim more or less.
func createRequired() map[string][]string {
	return map[string][]string{
		"IdeaService_CreateIdea":  {"origin", "problem", "title"},
		"NeedsService_CreateNeed": {"outcome", "population", "problem", "reportedBy"},
	}
}

// requestExamples are the request bodies of the calls a portal makes
// first.
func requestExamples() map[string]any {
	return map[string]any{
		"IdeaService_CreateIdea": obj{
			"title":    "Sensor som larmar vid fall nattetid",
			"problem":  "Fall på boendet upptäcks ofta först vid morgonrundan.",
			"proposal": "En golvsensor som larmar nattpersonalen.",
			"origin":   "ORIGIN_STAFF",
			"careArea": "äldreomsorg",
			"submitter": obj{
				"displayName": "Anna Berg",
				"workplace":   "Särskilt boende Björken",
				"email":       "anna.berg@example.se",
			},
			"consent": obj{"storePersonalData": true},
		},
		"IdeaService_TransitionIdea": obj{
			"stage":     "STAGE_SCREENING",
			"rationale": "Tas upp i nästa urvalsworkshop.",
			"etag":      "W/\"3\"",
		},
		"NeedsService_CreateNeed": obj{
			"problem":                 "upptäcka fall nattetid",
			"population":              "boende på särskilda boenden",
			"outcome":                 "kortare tid på golvet",
			"careUnit":                "Äldreomsorgen Umeå",
			"reportedBy":              "ORIGIN_STAFF",
			"evidence":                "42 avvikelserapporter om fall under 2025.",
			"patientsAffectedPerYear": 300,
		},
		"SubprojectService_CreateSubproject": obj{
			"title":       "Fallsensorer på tre boenden",
			"description": "Test av golvsensorer under sex månader.",
			"programme":   "programmes/innovationsmotorn-2026",
			"ideas":       []any{"regions/vasterbotten/ideas/01J9Z8Q4K3M2N1P0R5S6T7V8W9"},
			"budgetLines": []any{obj{"category": "COST_CATEGORY_STAFF", "description": "Projektledning", "amountOre": "25000000", "eligible": true}},
		},
	}
}

// errorSchemas are google.rpc.Status and the details Motor puts in it,
// replacing the generator's Status with details of any type.
func errorSchemas() obj {
	typeField := func(name string) obj {
		return obj{"type": "string", "const": "type.googleapis.com/google.rpc." + name}
	}
	return obj{
		"Status": obj{
			"type":        "object",
			"description": "Every error: the gRPC code, a message, and details (an ErrorInfo always; a BadRequest naming every wrong field).",
			"required":    []string{"code", "message"},
			"properties": obj{
				"code":    obj{"type": "integer", "format": "int32", "description": "The google.rpc.Code (3 INVALID_ARGUMENT, 5 NOT_FOUND, …)."},
				"message": obj{"type": "string", "description": "A message for developers, in English."},
				"details": obj{"type": "array", "items": obj{"anyOf": []any{
					obj{"$ref": "#/components/schemas/ErrorInfo"},
					obj{"$ref": "#/components/schemas/BadRequest"},
					obj{"$ref": "#/components/schemas/Any"},
				}}},
			},
		},
		"ErrorInfo": obj{
			"type":        "object",
			"description": "Why the call failed, for programs: a reason in UPPER_SNAKE_CASE within a domain.",
			"required":    []string{"@type", "reason", "domain"},
			"properties": obj{
				"@type":    typeField("ErrorInfo"),
				"reason":   obj{"type": "string", "examples": []any{"STALE_ETAG", "MALFORMED_REQUEST"}},
				"domain":   obj{"type": "string", "examples": []any{"idea.motor", "gateway.motor"}},
				"metadata": obj{"type": "object", "additionalProperties": obj{"type": "string"}},
			},
		},
		"BadRequest": obj{
			"type":        "object",
			"description": "Every wrong field of the request at once.",
			"required":    []string{"@type", "fieldViolations"},
			"properties": obj{
				"@type": typeField("BadRequest"),
				"fieldViolations": obj{"type": "array", "items": obj{
					"type":     "object",
					"required": []string{"field", "description"},
					"properties": obj{
						"field":       obj{"type": "string", "description": "The field's path in the request, as the proto names it (`idea.title`)."},
						"description": obj{"type": "string"},
					},
				}},
			},
		},
	}
}

// errorResponses are the error answers every operation shares.
func errorResponses() obj {
	resp := func(desc string, example obj) obj {
		m := obj{"schema": obj{"$ref": "#/components/schemas/Status"}}
		if example != nil {
			m["example"] = example
		}
		return obj{"description": desc, "content": obj{"application/json": m}}
	}
	info := func(reason, domain string) obj {
		return obj{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": domain}
	}
	return obj{
		"BadRequest": resp("The request is wrong: every wrong field is named.", obj{
			"code": 3, "message": "invalid idea",
			"details": []any{
				info("INVALID_ARGUMENT", "idea.motor"),
				obj{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": []any{
					obj{"field": "idea.title", "description": "is required"},
					obj{"field": "idea.origin", "description": "is required: who had the idea (ORIGIN_PATIENT, ORIGIN_STAFF, …)"},
				}},
			},
		}),
		"Unauthenticated":  resp("No token, or one that does not verify.", nil),
		"PermissionDenied": resp("The token's role or region may not make this call on this resource.", nil),
		"NotFound":         resp("No such resource.", nil),
		"Conflict":         resp("The resource changed since it was read (a stale etag), or already exists.", nil),
		"TooManyRequests":  resp("Over the rate limit: retry after the Retry-After header's seconds.", nil),
		"Error":            resp("Any other error.", nil),
	}
}
