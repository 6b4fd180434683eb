package config

import (
	"bytes"
	"strings"
)

// keyLines maps dotted keys (and table names) to the line where they are
// defined. The toml package keeps key positions private, so we scan the
// lines ourselves. The input has already parsed, which keeps this simple:
// it only has to skip comments and multi-line strings. Keys inside inline
// tables are not found; problems about them use the table's line.
func keyLines(data []byte) map[string]int {
	out := make(map[string]int)
	table := ""
	closer := "" // the delimiter that ends the multi-line string we are in
	for i, raw := range bytes.Split(data, []byte("\n")) {
		line := strings.TrimSpace(string(raw))
		if closer != "" {
			if strings.Contains(line, closer) {
				closer = ""
			}
			continue
		}
		switch {
		case line == "" || line[0] == '#':
		case line[0] == '[':
			name := strings.Trim(strings.SplitN(line, "]", 2)[0], "[ \t")
			table = strings.Join(splitKey(name), ".")
			setLine(out, table, i+1)
		default:
			key, rest, ok := strings.Cut(line, "=")
			if !ok {
				continue
			}
			setLine(out, joinKey(table, strings.Join(splitKey(key), ".")), i+1)
			closer = openMultiline(rest)
		}
	}
	return out
}

func setLine(m map[string]int, key string, line int) {
	if _, seen := m[key]; !seen {
		m[key] = line
	}
}

// splitKey splits a TOML key on dots outside quotes and unquotes the parts.
func splitKey(s string) []string {
	var parts []string
	var b strings.Builder
	quote := byte(0)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case quote != 0 && ch == quote:
			quote = 0
		case quote != 0:
			b.WriteByte(ch)
		case ch == '"' || ch == '\'':
			quote = ch
		case ch == '.':
			parts = append(parts, strings.TrimSpace(b.String()))
			b.Reset()
		default:
			b.WriteByte(ch)
		}
	}
	return append(parts, strings.TrimSpace(b.String()))
}

// openMultiline returns the closing delimiter when the value starts a
// multi-line string that does not end on the same line, else "".
func openMultiline(value string) string {
	value = strings.TrimSpace(value)
	for _, d := range []string{`"""`, `'''`} {
		if strings.HasPrefix(value, d) && !strings.Contains(value[3:], d) {
			return d
		}
	}
	return ""
}
