package store

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"

	"github.com/atende/atende/internal/report"
)

// decodeRow reads the counters of a stored row of interval statistics. The
// stored text is what addStats wrote, json.Marshal of a report.Row: objects
// of integers (and the away time per reason, a map of integers). A month's
// report by interval reads some 10^5 rows and encoding/json spends about
// 10 µs on each, most of the report's time, so that shape is read here by
// hand, through Row's JSON names found by reflection; anything else (a name
// this reader does not know, escapes, null, a float) goes to encoding/json,
// which decides.
func decodeRow(data []byte, r *report.Row) error {
	if (&rowReader{b: data}).row(r) {
		return nil
	}
	*r = report.Row{}
	return json.Unmarshal(data, r)
}

// member is where a JSON name goes in a struct: an int64 field, a
// map[string]int64, or a struct with members of its own.
type member struct {
	name  string
	index []int
	kind  reflect.Kind
	sub   members
}

// members are a struct's members by name, and in order: json.Marshal writes
// them in order, so the reader tries the one after the last it read first.
type members struct {
	byName  map[string]*member
	inOrder []*member
}

var rowMembers = membersOf(reflect.TypeFor[report.Row]())

// membersOf lists the members of struct t that the reader can read. Names it
// leaves out are read by encoding/json.
func membersOf(t reflect.Type) members {
	ms := members{byName: map[string]*member{}}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || f.Anonymous || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m := &member{name: name, index: f.Index}
		switch {
		case f.Type.Kind() == reflect.Int64:
			m.kind = reflect.Int64
		case f.Type == reflect.TypeFor[map[string]int64]():
			m.kind = reflect.Map
		case f.Type.Kind() == reflect.Struct:
			m.kind, m.sub = reflect.Struct, membersOf(f.Type)
		default:
			continue
		}
		ms.byName[name] = m
		ms.inOrder = append(ms.inOrder, m)
	}
	return ms
}

type rowReader struct {
	b []byte
	i int
	// expect is the name the next member most likely has (the one after
	// the last read), checked before the name is scanned byte by byte.
	expect string
}

func (p *rowReader) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// next consumes c, after white space, if it comes next.
func (p *rowReader) next(c byte) bool {
	p.space()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// key reads `"name":`. Names with escapes or bytes outside printable ASCII
// are left to encoding/json.
func (p *rowReader) key() ([]byte, bool) {
	if !p.next('"') {
		return nil, false
	}
	if e := p.expect; e != "" && len(p.b)-p.i > len(e) && string(p.b[p.i:p.i+len(e)]) == e && p.b[p.i+len(e)] == '"' {
		k := p.b[p.i : p.i+len(e)]
		p.i += len(e) + 1
		return k, p.next(':')
	}
	start := p.i
	for p.i < len(p.b) && p.b[p.i] != '"' {
		if c := p.b[p.i]; c == '\\' || c < 0x20 || c >= 0x80 {
			return nil, false
		}
		p.i++
	}
	if p.i >= len(p.b) {
		return nil, false
	}
	k := p.b[start:p.i]
	p.i++
	return k, p.next(':')
}

// int reads an integer in JSON's syntax (no leading zeros, no fraction or
// exponent) that fits an int64.
func (p *rowReader) int() (int64, bool) {
	p.space()
	start := p.i
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	digits := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	n := p.i - digits
	if n == 0 || (n > 1 && p.b[digits] == '0') {
		return 0, false
	}
	if p.i < len(p.b) {
		if c := p.b[p.i]; c == '.' || c == 'e' || c == 'E' {
			return 0, false
		}
	}
	// Nineteen digits may overflow: strconv decides those.
	if n >= 19 {
		v, err := strconv.ParseInt(string(p.b[start:p.i]), 10, 64)
		return v, err == nil
	}
	var v int64
	for _, c := range p.b[digits:p.i] {
		v = v*10 + int64(c-'0')
	}
	if digits > start {
		v = -v
	}
	return v, true
}

// object reads `{...}`, handing each member's name to member, which reads
// its value.
func (p *rowReader) object(member func(k []byte) bool) bool {
	if !p.next('{') {
		return false
	}
	if p.next('}') {
		return true
	}
	for {
		k, ok := p.key()
		if !ok || !member(k) {
			return false
		}
		if p.next(',') {
			continue
		}
		return p.next('}')
	}
}

func (p *rowReader) row(r *report.Row) bool {
	ok := p.into(reflect.ValueOf(r).Elem(), rowMembers)
	p.space()
	return ok && p.i == len(p.b)
}

// into reads an object into struct v, whose members are ms.
func (p *rowReader) into(v reflect.Value, ms members) bool {
	next := 0
	expectNext := func() {
		p.expect = ""
		if next < len(ms.inOrder) {
			p.expect = ms.inOrder[next].name
		}
	}
	expectNext()
	return p.object(func(k []byte) bool {
		var m *member
		if next < len(ms.inOrder) && ms.inOrder[next].name == string(k) {
			m = ms.inOrder[next]
			next++
		} else if m = ms.byName[string(k)]; m == nil {
			return false
		}
		defer expectNext()
		f := v.FieldByIndex(m.index)
		switch m.kind {
		case reflect.Int64:
			n, ok := p.int()
			f.SetInt(n)
			return ok
		case reflect.Map:
			mp := f.Addr().Interface().(*map[string]int64)
			if *mp == nil {
				*mp = map[string]int64{}
			}
			return p.object(func(k []byte) bool {
				n, ok := p.int()
				(*mp)[string(k)] = n
				return ok
			})
		}
		return p.into(f, m.sub)
	})
}
