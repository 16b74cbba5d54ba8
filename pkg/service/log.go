package service

import (
	"fmt"
	"os"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/buffer"
	"go.uber.org/zap/zapcore"
)

// NewLogger returns a JSON logger whose lines carry the fields the real
// hybrid runtime's logs do: level, severity, message, logger, plus a
// formatted timestamp. Org and environment are added per component with
// zap.String("org", …) / zap.String("env", …).
func NewLogger(name, level string) (*zap.Logger, error) {
	return newLoggerTo(name, level, zapcore.Lock(os.Stderr))
}

func newLoggerTo(name, level string, out zapcore.WriteSyncer) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(strings.ToLower(level))
	if err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	enc := severityEncoder{zapcore.NewJSONEncoder(zapcore.EncoderConfig{
		TimeKey:        "formattedDate",
		LevelKey:       "level",
		NameKey:        "logger",
		CallerKey:      "caller",
		MessageKey:     "message",
		StacktraceKey:  "exceptionStackTrace",
		LineEnding:     zapcore.DefaultLineEnding,
		EncodeLevel:    zapcore.LowercaseLevelEncoder,
		EncodeTime:     zapcore.ISO8601TimeEncoder,
		EncodeDuration: zapcore.StringDurationEncoder,
		EncodeCaller:   zapcore.ShortCallerEncoder,
		EncodeName:     zapcore.FullNameEncoder,
	})}
	core := zapcore.NewCore(enc, out, lvl)
	return zap.New(core, zap.AddCaller()).Named(name), nil
}

// severityEncoder adds Cloud Logging's `severity` beside zap's `level`, so
// the lines read like hybrid's (which log both) and a log shipper can map
// them without parsing.
type severityEncoder struct{ zapcore.Encoder }

func (e severityEncoder) Clone() zapcore.Encoder { return severityEncoder{e.Encoder.Clone()} }

func (e severityEncoder) EncodeEntry(ent zapcore.Entry, fields []zapcore.Field) (*buffer.Buffer, error) {
	fields = append(fields, zap.String("severity", severity(ent.Level)))
	return e.Encoder.EncodeEntry(ent, fields)
}

func severity(l zapcore.Level) string {
	switch l {
	case zapcore.DebugLevel:
		return "DEBUG"
	case zapcore.InfoLevel:
		return "INFO"
	case zapcore.WarnLevel:
		return "WARNING"
	case zapcore.ErrorLevel:
		return "ERROR"
	default:
		return "CRITICAL"
	}
}
