package config

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every *Error matches ErrInvalid with errors.Is.
var (
	ErrInvalid  = errors.New("config: invalid configuration")
	ErrLogLevel = errors.New("config: unknown log level")
)

// Problem is one thing wrong with a config file.
type Problem struct {
	File    string // the config file
	Line    int    // 1-based line in File; 0 when unknown
	Key     string // dotted key, e.g. "imap.upstream_tls"; "" for the file as a whole
	Message string
}

// String formats the problem as FILE:LINE: KEY: message, leaving out the
// line and key when they are unknown.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Error lists every problem found in a config file.
type Error struct {
	Problems []Problem
}

// Error prints one problem per line.
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Is makes errors.Is(err, ErrInvalid) true for every *Error.
func (e *Error) Is(target error) bool { return target == ErrInvalid }
