package main

import (
	"io"

	"github.com/hashicorp/go-hclog"

	"github.com/smimeproxy/smimeproxy/config"
)

// newLogger builds the process logger from [log]. Every session derives its
// own logger from it with the session's fields.
func newLogger(cfg config.Log, out io.Writer) hclog.Logger {
	level, err := config.ParseLogLevel(cfg.Level)
	if err != nil {
		level = hclog.Info
	}
	return hclog.New(&hclog.LoggerOptions{
		Name:            "smimeproxy",
		Level:           level,
		Output:          out,
		JSONFormat:      cfg.Format == "json",
		IncludeLocation: false,
		TimeFormat:      "2006-01-02T15:04:05.000Z07:00",
	})
}
