package main

import (
	"strings"
	"time"
)

// strftime formats t with the strftime subset upstream supports:
// %Y %y %m %d %H %I %M %S %p %B %b %A %a %Z %z %%, numbers zero-padded.
// Any other %x, and a trailing %, is copied as is. Unlike upstream, which
// turns the whole format into a Go layout, text between directives is
// always literal (upstream would also format a literal "2006" or "Jan").
func strftime(format string, t time.Time) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i == len(format)-1 {
			b.WriteByte(format[i])
			continue
		}
		layout, ok := strftimeLayout(format[i+1])
		if !ok {
			b.WriteByte('%')
			continue
		}
		i++
		if layout == "%" {
			b.WriteByte('%')
			continue
		}
		b.WriteString(t.Format(layout))
	}
	return b.String()
}

// strftimeLayout is the Go layout that prints a directive.
func strftimeLayout(directive byte) (string, bool) {
	switch directive {
	case 'Y':
		return "2006", true
	case 'y':
		return "06", true
	case 'm':
		return "01", true
	case 'd':
		return "02", true
	case 'H':
		return "15", true
	case 'I':
		return "03", true
	case 'M':
		return "04", true
	case 'S':
		return "05", true
	case 'p':
		return "PM", true
	case 'B':
		return "January", true
	case 'b':
		return "Jan", true
	case 'A':
		return "Monday", true
	case 'a':
		return "Mon", true
	case 'Z':
		return "MST", true
	case 'z':
		return "-0700", true
	case '%':
		return "%", true
	}
	return "", false
}
