package config

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// knownKeys lists every dotted key of the schema, tables included.
func knownKeys() []string {
	var out []string
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for name, i := range fieldIndex(t) {
			key := joinKey(prefix, name)
			out = append(out, key)
			if f := t.Field(i).Type; f.Kind() == reflect.Struct && f != durationType {
				walk(key, f)
			}
		}
	}
	walk("", reflect.TypeOf(Config{}))
	sort.Strings(out)
	return out
}

// suggest returns a hint for an unknown key name under table prefix: a close
// spelling in the same table, else the same name in another table.
func suggest(prefix, name string) string {
	keys := knownKeys()
	best, bestDist := "", max(2, len(name)/4)+1
	for _, k := range keys {
		if parentKey(k) != prefix {
			continue
		}
		leaf := k[len(joinKey(prefix, "")):]
		if d := distance(strings.ToLower(name), leaf); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" {
		// The same name in another table: the table declared first in
		// Config wins, so mail settings come before [admin]'s.
		bestTable := -1
		for _, k := range keys {
			i := tableIndex(k)
			if strings.HasSuffix(k, "."+name) && (bestTable < 0 || i < bestTable) {
				best, bestTable = k, i
			}
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// tableIndex is the position in Config of key's top-level table.
func tableIndex(key string) int {
	table, _, _ := strings.Cut(key, ".")
	if i, ok := fieldIndex(reflect.TypeOf(Config{}))[table]; ok {
		return i
	}
	return 1 << 16
}

// distance is the Levenshtein edit distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
