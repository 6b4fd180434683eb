package config

import (
	"fmt"

	"github.com/hashicorp/go-hclog"
)

// logLevels are the accepted [log] level values, most verbose first.
var logLevels = []string{"trace", "debug", "info", "warn", "error"}

// ParseLogLevel maps a [log] level value to an hclog level. Unlike
// hclog.LevelFromString it accepts only the documented names, so that a typo
// is an error instead of silently meaning "no level".
func ParseLogLevel(s string) (hclog.Level, error) {
	switch s {
	case "trace":
		return hclog.Trace, nil
	case "debug":
		return hclog.Debug, nil
	case "info":
		return hclog.Info, nil
	case "warn":
		return hclog.Warn, nil
	case "error":
		return hclog.Error, nil
	}
	return hclog.NoLevel, fmt.Errorf("%w %q", ErrLogLevel, s)
}
