package httpapi

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/atende/atende"
)

// OpenAPI returns the OpenAPI 3.1 document of the API, built from the same
// route list that the router serves, with schemas derived from the Go types
// the handlers decode and encode.
func (s *Server) OpenAPI() []byte {
	s.openapiOnce.Do(func() {
		b, err := json.MarshalIndent(s.buildOpenAPI(), "", "  ")
		if err != nil {
			panic(err) // only our own types are encoded
		}
		s.openapiDoc = append(b, '\n')
	})
	return s.openapiDoc
}

type obj = map[string]any

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

func (s *Server) buildOpenAPI() obj {
	sg := &schemaGen{defs: obj{}}
	paths := obj{}
	routes := slices.Clone(s.routes)
	sort.SliceStable(routes, func(i, j int) bool { return routes[i].Path < routes[j].Path })
	for _, rt := range routes {
		item, _ := paths[rt.Path].(obj)
		if item == nil {
			item = obj{}
			paths[rt.Path] = item
		}
		op := obj{
			"operationId": operationID(rt),
			"summary":     rt.Summary,
			"tags":        []string{rt.Tag},
		}
		var params []obj
		for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
			params = append(params, obj{"name": m[1], "in": "path", "required": true, "schema": obj{"type": "string", "format": "uuid"}})
		}
		for _, q := range rt.Query {
			params = append(params, obj{"name": q.Name, "in": "query", "description": q.Description, "schema": obj{"type": q.Type}})
		}
		if rt.Patch {
			params = append(params, obj{"name": "If-Match", "in": "header", "required": true,
				"description": "the ETag of the version you read, or * to overwrite", "schema": obj{"type": "string"}})
		}
		if rt.idempotent {
			params = append(params, obj{"name": "Idempotency-Key", "in": "header",
				"description": "a unique key per create: a retry with the same key and body replays the first response", "schema": obj{"type": "string", "maxLength": 200}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.In != nil {
			ct := "application/json"
			if rt.Patch {
				ct = "application/merge-patch+json"
			}
			op["requestBody"] = obj{"required": true, "content": obj{ct: obj{"schema": sg.schema(reflect.TypeOf(rt.In))}}}
		}
		success := obj{"description": http.StatusText(rt.Status)}
		if rt.Out != nil {
			success["content"] = obj{"application/json": obj{"schema": sg.schema(reflect.TypeOf(rt.Out))}}
		}
		op["responses"] = obj{
			itoa(rt.Status): success,
			"default": obj{"description": "a problem (RFC 9457); see docs/problems.md",
				"content": obj{"application/problem+json": obj{"schema": sg.schema(reflect.TypeOf(Problem{}))}}},
		}
		if rt.Public {
			op["security"] = []obj{}
		} else {
			op["description"] = "Needs the " + string(rt.Perm) + " permission."
		}
		item[strings.ToLower(rt.Method)] = op
	}
	return obj{
		"openapi": "3.1.0",
		"info": obj{
			"title":       "atende API",
			"version":     "1",
			"description": "REST API of the atende contact center. Every request acts within the caller's tenant. Errors are RFC 9457 problem+json with stable type URNs.",
		},
		"servers": []obj{{"url": apiPrefix}},
		"paths":   paths,
		"components": obj{
			"schemas": sg.defs,
			"securitySchemes": obj{
				"bearer":  obj{"type": "http", "scheme": "bearer", "description": "an API token (atk_...)"},
				"session": obj{"type": "apiKey", "in": "cookie", "name": sessionCookie, "description": "browser session; unsafe methods also need X-CSRF-Token"},
			},
		},
		"security": []obj{{"bearer": []string{}}, {"session": []string{}}},
	}
}

func operationID(rt route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(rt.Method))
	for _, part := range strings.Split(rt.Path, "/") {
		part = strings.Trim(part, "{}")
		for _, w := range strings.FieldsFunc(part, func(r rune) bool { return r == '-' || r == '_' }) {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}

func itoa(n int) string { return strconv.Itoa(n) }

// schemaGen derives JSON Schemas from Go types, naming structs in components.
type schemaGen struct {
	defs obj
}

var (
	timeType = reflect.TypeOf(time.Time{})
	rawType  = reflect.TypeOf(json.RawMessage{})
)

// enums lists the values of the domain's string types.
var enums = map[reflect.Type][]string{
	reflect.TypeOf(atende.Role("")):               toStrings(atende.Roles),
	reflect.TypeOf(atende.Channel("")):            toStrings(atende.Channels),
	reflect.TypeOf(atende.AgentStatus("")):        toStrings(atende.AgentStatuses),
	reflect.TypeOf(atende.ConversationStatus("")): toStrings(atende.ConversationStatuses),
	reflect.TypeOf(atende.Permission("")):         toStrings(atende.Permissions),
	reflect.TypeOf(atende.IdentityKind("")):       {"phone", "email", "chat", "social"},
	reflect.TypeOf(atende.FieldType("")):          {"text", "number", "boolean", "date", "select"},
	reflect.TypeOf(atende.EventKind("")):          {"message", "note", "status", "assignment", "disposition", "tags"},
}

func toStrings[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

var serverSet = map[string]bool{"id": true, "tenant_id": true, "created_at": true, "updated_at": true, "version": true}

func (g *schemaGen) schema(t reflect.Type) obj {
	if t.Kind() == reflect.Pointer {
		return g.schema(t.Elem())
	}
	switch {
	case t == timeType:
		return obj{"type": "string", "format": "date-time"}
	case t == rawType:
		return obj{}
	}
	if vals, ok := enums[t]; ok {
		return obj{"type": "string", "enum": vals}
	}
	switch t.Kind() {
	case reflect.String:
		return obj{"type": "string"}
	case reflect.Bool:
		return obj{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return obj{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return obj{"type": "number"}
	case reflect.Slice, reflect.Array:
		return obj{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return obj{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Interface:
		return obj{}
	case reflect.Struct:
		name := schemaName(t)
		if name == "" {
			return g.structSchema(t)
		}
		if _, ok := g.defs[name]; !ok {
			g.defs[name] = obj{} // placeholder against recursion
			g.defs[name] = g.structSchema(t)
		}
		return obj{"$ref": "#/components/schemas/" + name}
	}
	return obj{}
}

func (g *schemaGen) structSchema(t reflect.Type) obj {
	props := obj{}
	var required []string
	for _, f := range jsonFields(t) {
		sch := g.schema(f.typ)
		if serverSet[f.name] {
			sch = obj{"allOf": []obj{sch}, "readOnly": true}
		}
		props[f.name] = sch
		if !f.omitempty {
			required = append(required, f.name)
		}
	}
	out := obj{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		sort.Strings(required)
		out["required"] = required
	}
	return out
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9]+`)

// schemaName names a struct type for components: Page[atende.Team] → PageTeam.
func schemaName(t reflect.Type) string {
	name := t.Name()
	if name == "" {
		return ""
	}
	if i := strings.IndexByte(name, '['); i >= 0 {
		inner := name[i+1 : len(name)-1]
		if j := strings.LastIndexByte(inner, '.'); j >= 0 {
			inner = inner[j+1:]
		}
		name = name[:i] + inner
	}
	return nonWord.ReplaceAllString(name, "")
}

type jsonField struct {
	name      string
	typ       reflect.Type
	omitempty bool
}

// jsonFields lists the JSON fields of a struct the way encoding/json sees
// them, flattening embedded structs.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				out = append(out, jsonFields(ft)...)
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, jsonField{name: name, typ: f.Type, omitempty: strings.Contains(opts, "omitempty")})
	}
	return out
}

// jsonFieldNames returns the JSON field names of v's struct type.
func jsonFieldNames(v any) map[string]bool {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	out := map[string]bool{}
	if t.Kind() != reflect.Struct {
		return out
	}
	for _, f := range jsonFields(t) {
		out[f.name] = true
	}
	return out
}
