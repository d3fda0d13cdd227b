package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/atende/atende"
)

// maxBody bounds request bodies; a message body may be up to 1 MiB of text,
// plus JSON escaping and envelope.
const maxBody = 2 << 20

// decodeError is a request-body problem with its code and field.
type decodeError struct {
	code, detail, field string
}

func (e *decodeError) Error() string { return e.code + ": " + e.detail }

// readJSONBody reads a JSON request body, bounded, and checks its media type
// and encoding.
func readJSONBody(r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "application/merge-patch+json" && !strings.HasSuffix(mt, "+json")) {
			return nil, &decodeError{"unsupported_media_type", "send Content-Type: application/json", ""}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &decodeError{"body_too_large", fmt.Sprintf("the body is larger than %d bytes", maxBody), ""}
		}
		return nil, &decodeError{"invalid_json", "could not read the body", ""}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, &decodeError{"invalid_json", "the body is empty; send a JSON object", ""}
	}
	// encoding/json would silently turn bad UTF-8 into U+FFFD; refuse it.
	if !utf8.Valid(body) {
		return nil, &decodeError{"invalid_json", "the body is not valid UTF-8", ""}
	}
	return body, nil
}

// decodeStrict decodes body into v, rejecting unknown fields, wrong types and
// trailing data, and naming the field at fault.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return &decodeError{"invalid_json", "unexpected data after the JSON value", ""}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &decodeError{"invalid_json", "unexpected data after the JSON value", ""}
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &decodeError{"invalid_json", fmt.Sprintf("syntax error at byte %d: %s", syn.Offset, syn.Error()), ""}
	case errors.As(err, &typ):
		field := typ.Field
		return atende.FieldError(field, "must be %s, not %s", jsonTypeName(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &decodeError{"invalid_json", "the JSON ends too early", ""}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return atende.FieldError(f, "is not a known field")
	default:
		var ae *atende.Error
		if errors.As(err, &ae) {
			return ae
		}
		return &decodeError{"invalid_json", err.Error(), ""}
	}
}

func jsonTypeName(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	default:
		return kind
	}
}

// decode reads and strictly decodes a request body into v.
func decode(r *http.Request, v any) error {
	body, err := readJSONBody(r)
	if err != nil {
		return err
	}
	return decodeStrict(body, v)
}

// applyMergePatch applies an RFC 7386 JSON merge patch to the JSON of current and
// strictly decodes the result into out. Fields in readOnly may not appear in
// the patch.
func applyMergePatch(body []byte, current any, out any, readOnly []string) error {
	var patch map[string]json.RawMessage
	if err := decodeStrict(body, &patch); err != nil {
		if _, ok := err.(*atende.Error); ok {
			return &decodeError{"invalid_json", "a patch must be a JSON object", ""}
		}
		return err
	}
	for _, f := range readOnly {
		if _, ok := patch[f]; ok {
			return atende.FieldError(f, "is read-only")
		}
	}
	cur, err := json.Marshal(current)
	if err != nil {
		return err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(cur, &doc); err != nil {
		return err
	}
	for k, v := range patch {
		if _, known := doc[k]; !known && !omittedField(out, k) {
			return atende.FieldError(k, "is not a known field")
		}
		if string(v) == "null" {
			delete(doc, k)
			continue
		}
		if isObject(v) && isObject(doc[k]) {
			merged, err := mergeObjects(doc[k], v)
			if err != nil {
				return err
			}
			doc[k] = merged
			continue
		}
		doc[k] = v
	}
	merged, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return decodeStrict(merged, out)
}

func isObject(v json.RawMessage) bool {
	t := bytes.TrimSpace(v)
	return len(t) > 0 && t[0] == '{'
}

// mergeObjects merges patch into target one level at a time (RFC 7386).
func mergeObjects(target, patch json.RawMessage) (json.RawMessage, error) {
	var t, p map[string]json.RawMessage
	if err := json.Unmarshal(target, &t); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(patch, &p); err != nil {
		return nil, err
	}
	for k, v := range p {
		switch {
		case string(v) == "null":
			delete(t, k)
		case isObject(v) && isObject(t[k]):
			m, err := mergeObjects(t[k], v)
			if err != nil {
				return nil, err
			}
			t[k] = m
		default:
			t[k] = v
		}
	}
	return json.Marshal(t)
}

// omittedField reports whether out's type has a JSON field named name that
// was simply omitted (omitempty) from the current document.
func omittedField(out any, name string) bool {
	return jsonFieldNames(out)[name]
}
