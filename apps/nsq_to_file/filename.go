package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// File naming (--filename-format): <TOPIC>, <HOST> and <PID> are replaced
// once per topic, <DATETIME> whenever a name is computed, and <REV> when a
// file is opened or moved.

const revToken = "<REV>"

// revRequired reports whether files can be rotated or renamed, which
// needs <REV> so that a name is never reused.
func revRequired(o *Options) bool {
	return o.GZIP || o.RotateSize > 0 || o.RotateInterval > 0 || o.WorkDir != o.OutputDir
}

func checkRevToken(o *Options) error {
	if revRequired(o) && !strings.Contains(o.FilenameFormat, revToken) {
		return errors.New("missing <REV> in --filename-format when gzip, rotation, or work dir enabled")
	}
	return nil
}

// hostNames are the machine's names as <HOST> uses them.
type hostNames struct {
	full  string // os.Hostname
	short string // up to the first dot
}

func newHostNames(hostname string) hostNames {
	short, _, _ := strings.Cut(hostname, ".")
	return hostNames{full: hostname, short: short}
}

// fileNamer computes one topic's file names.
type fileNamer struct {
	template       string // <DATETIME> and <REV> still in it
	datetimeFormat string
}

// newFileNamer fills in the per-topic tokens of opts.FilenameFormat.
func newFileNamer(o *Options, topic string, host hostNames, pid int) (*fileNamer, error) {
	if err := checkRevToken(o); err != nil {
		return nil, err
	}
	identifier := host.short
	if o.HostIdentifier != "" {
		identifier = strings.ReplaceAll(o.HostIdentifier, "<SHORT_HOST>", host.short)
		identifier = strings.ReplaceAll(identifier, "<HOSTNAME>", host.full)
	}
	t := o.FilenameFormat
	if !revRequired(o) {
		t = strings.ReplaceAll(t, revToken, "")
	}
	t = strings.ReplaceAll(t, "<TOPIC>", topic)
	t = strings.ReplaceAll(t, "<HOST>", identifier)
	t = strings.ReplaceAll(t, "<PID>", strconv.Itoa(pid))
	if o.GZIP && !strings.HasSuffix(t, ".gz") {
		t += ".gz"
	}
	return &fileNamer{template: t, datetimeFormat: o.DatetimeFormat}, nil
}

// name is the file name at now (local time), <REV> still unreplaced. A
// change of name is what rotates files by date.
func (n *fileNamer) name(now time.Time) string {
	return strings.ReplaceAll(n.template, "<DATETIME>", strftime(n.datetimeFormat, now.Local()))
}

// withRev replaces <REV> with the zero-padded revision, "-000003".
func withRev(name string, rev uint) string {
	return strings.ReplaceAll(name, revToken, fmt.Sprintf("-%06d", rev))
}

// nextChange is the first time after from at which name gives a different
// name, or false when it never does (no <DATETIME>, or a format without a
// time directive). The strftime subset depends only on calendar fields, so
// the name can change only where one of them rolls over: at the next
// second, minute, hour, day, month or year, tried in that order.
func (n *fileNamer) nextChange(from time.Time) (time.Time, bool) {
	from = from.Local()
	current := n.name(from)
	y, mo, d := from.Date()
	h, mi, _ := from.Clock()
	loc := from.Location()
	for _, boundary := range []time.Time{
		from.Truncate(time.Second).Add(time.Second),
		time.Date(y, mo, d, h, mi+1, 0, 0, loc),
		time.Date(y, mo, d, h+1, 0, 0, 0, loc),
		time.Date(y, mo, d+1, 0, 0, 0, 0, loc),
		time.Date(y, mo+1, 1, 0, 0, 0, 0, loc),
		time.Date(y+1, 1, 1, 0, 0, 0, 0, loc),
	} {
		if boundary.After(from) && n.name(boundary) != current {
			return boundary, true
		}
	}
	return time.Time{}, false
}
