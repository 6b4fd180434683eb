package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"
)

// We walk the parsed TOML tree ourselves instead of letting toml.Decode fill
// the struct, because toml.Decode stops at the first wrong type and we want
// every problem at once.

var durationType = reflect.TypeOf(time.Duration(0))

// collector gathers problems and warnings with their line numbers.
type collector struct {
	file     string
	lines    map[string]int
	problems []Problem
	warnings []Problem
}

func (c *collector) problem(key, format string, args ...any) {
	c.problems = append(c.problems, c.at(key, fmt.Sprintf(format, args...)))
}

func (c *collector) warn(key, format string, args ...any) {
	c.warnings = append(c.warnings, c.at(key, fmt.Sprintf(format, args...)))
}

// at places a message at key's line, or at its nearest defined parent's line
// (keys in inline tables and keys that are missing have no line of their own).
func (c *collector) at(key, msg string) Problem {
	for k := key; k != ""; k = parentKey(k) {
		if line, ok := c.lines[k]; ok {
			return Problem{File: c.file, Line: line, Key: key, Message: msg}
		}
	}
	return Problem{File: c.file, Key: key, Message: msg}
}

// sorted returns the problems in file order, those without a line last.
func sorted(problems []Problem) []Problem {
	out := append([]Problem(nil), problems...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Line, out[j].Line
		if a == 0 || b == 0 {
			return a != 0 && b == 0
		}
		return a < b
	})
	return out
}

func parentKey(key string) string {
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		return key[:i]
	}
	return ""
}

func joinKey(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// decodeTable copies the values of table m into the struct that ptr points
// to, reporting unknown keys and wrong types.
func decodeTable(c *collector, prefix string, m map[string]any, ptr any) {
	decodeStruct(c, prefix, m, reflect.ValueOf(ptr).Elem())
}

func decodeStruct(c *collector, prefix string, m map[string]any, rv reflect.Value) {
	fields := fieldIndex(rv.Type())
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		key := joinKey(prefix, name)
		i, ok := fields[name]
		if !ok {
			what := "key"
			if _, table := m[name].(map[string]any); table {
				what = "table"
			}
			c.problem(key, "unknown %s%s", what, suggest(prefix, name))
			continue
		}
		decodeValue(c, key, m[name], rv.Field(i))
	}
}

func decodeValue(c *collector, key string, v any, fv reflect.Value) {
	switch {
	case fv.Type() == durationType:
		decodeDuration(c, key, v, fv)
	case fv.Kind() == reflect.Struct:
		if m, ok := v.(map[string]any); ok {
			decodeStruct(c, key, m, fv)
			return
		}
		c.problem(key, "must be a table ([%s]), not %s", key, tomlType(v))
	case fv.Kind() == reflect.String:
		if s, ok := v.(string); ok {
			fv.SetString(s)
			return
		}
		c.problem(key, "must be a string, not %s", tomlType(v))
	case fv.Kind() == reflect.Bool:
		if b, ok := v.(bool); ok {
			fv.SetBool(b)
			return
		}
		c.problem(key, "must be true or false, not %s", tomlType(v))
	case fv.CanInt():
		decodeInt(c, key, v, fv)
	case fv.Kind() == reflect.Slice && fv.Type().Elem().Kind() == reflect.String:
		decodeStrings(c, key, v, fv)
	default:
		panic("config: field type not handled: " + fv.Type().String())
	}
}

func decodeInt(c *collector, key string, v any, fv reflect.Value) {
	n, ok := v.(int64)
	if !ok {
		c.problem(key, "must be an integer, not %s", tomlType(v))
		return
	}
	if fv.OverflowInt(n) {
		c.problem(key, "%d is too large", n)
		return
	}
	fv.SetInt(n)
}

// decodeStrings fills a []string from an array of strings; an empty array
// leaves the slice nil, like a missing key.
func decodeStrings(c *collector, key string, v any, fv reflect.Value) {
	arr, ok := v.([]any)
	if !ok {
		c.problem(key, "must be an array of strings, not %s", tomlType(v))
		return
	}
	var out []string
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			c.problem(key, "element %d must be a string, not %s", i+1, tomlType(e))
			return
		}
		out = append(out, s)
	}
	fv.Set(reflect.ValueOf(out))
}

func decodeDuration(c *collector, key string, v any, fv reflect.Value) {
	s, ok := v.(string)
	if !ok {
		c.problem(key, `must be a duration string such as "30s" or "2m", not %s`, tomlType(v))
		return
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		c.problem(key, `invalid duration %q: use a number and a unit (ms, s, m, h): "30s"`, s)
		return
	}
	fv.SetInt(int64(d))
}

// fieldIndex maps TOML key names to struct field indexes.
func fieldIndex(t reflect.Type) map[string]int {
	out := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		name := t.Field(i).Tag.Get("toml")
		if name != "" && name != "-" {
			out[name] = i
		}
	}
	return out
}

// tomlType names the TOML type of a decoded value, for messages.
func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "an array of tables"
	case []any:
		return "an array"
	}
	return "a date/time"
}
