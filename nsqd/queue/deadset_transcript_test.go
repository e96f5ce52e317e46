package queue

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The dead set's scenario tests are transcripts in testdata/deadset/: each
// file a script of steps, each step a command, optional input lines, a
// "----" line and the expected output, ending at a blank line. Lines
// starting with '#' between steps are comments. Run with
//
//	go test ./nsqd/queue/ -run TestDeadSetTranscripts -args -deadset-rewrite
//
// to write the actual output into the files (then read the diff: the
// expected output is the specification).
//
// Commands (arguments are key=value):
//
//	open [max-depth=N] [segment-bytes=N] [max-body=N] [sync=1]  open the set (a fresh temp dir per file)
//	reopen [options]                                    open again after close or crash, with the
//	                                                    last open's options but those named
//	add                                                 input: one message per line:
//	    <id> <reason> [attempts=N] [ts=N] [died=N] [body=TEXT] [size=N]
//	peek [after=SEQ] [n=N]                              list without consuming
//	take n=N [as=NAME]                                  take for a redrive
//	commit [NAME] / release [NAME]                      finish or undo a take
//	empty / set-max-depth N / state / stats / files / sync / close / delete
//	crash [truncate=N] [garbage=TEXT] [zeros=N]         drop the set without Close (as a kill -9
//	                                                    leaves it), then damage the newest file's tail
//	corrupt seg=N off=N                                 flip a byte of segment N at offset N (negative: from its end)
var deadRewrite = flag.Bool("deadset-rewrite", false, "rewrite testdata/deadset transcripts with the actual output")

func TestDeadSetTranscripts(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "deadset", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			runDeadTranscript(t, path)
		})
	}
}

type deadStep struct {
	line     int
	cmd      string
	input    []string
	expected string
}

func parseDeadTranscript(t *testing.T, path string) (steps []deadStep, layout []string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	for i := 0; i < len(lines); {
		l := lines[i]
		if l == "" || strings.HasPrefix(l, "#") {
			layout = append(layout, l)
			i++
			continue
		}
		st := deadStep{line: i + 1, cmd: l}
		i++
		for ; i < len(lines) && lines[i] != "----"; i++ {
			if lines[i] == "" {
				t.Fatalf("%s:%d: step without a ---- line", path, st.line)
			}
			st.input = append(st.input, lines[i])
		}
		if i == len(lines) {
			t.Fatalf("%s:%d: step without a ---- line", path, st.line)
		}
		i++
		var out []string
		for ; i < len(lines) && lines[i] != ""; i++ {
			out = append(out, lines[i])
		}
		st.expected = strings.Join(out, "\n")
		steps = append(steps, st)
		layout = append(layout, "\x00step")
	}
	return steps, layout
}

func runDeadTranscript(t *testing.T, path string) {
	steps, layout := parseDeadTranscript(t, path)
	h := &deadHarness{t: t, dir: t.TempDir(), takes: map[string][]DeadMessage{}}
	defer h.drop()
	var actual []string
	for _, st := range steps {
		got := strings.TrimRight(h.run(st), "\n")
		actual = append(actual, got)
		if !*deadRewrite && got != st.expected {
			t.Fatalf("%s:%d: %s\n--- expected\n%s\n--- actual\n%s", path, st.line, st.cmd, st.expected, got)
		}
	}
	if !*deadRewrite {
		return
	}
	var b strings.Builder
	k := 0
	for _, l := range layout {
		if l != "\x00step" {
			b.WriteString(l + "\n")
			continue
		}
		st := steps[k]
		b.WriteString(st.cmd + "\n")
		for _, in := range st.input {
			b.WriteString(in + "\n")
		}
		b.WriteString("----\n" + actual[k] + "\n")
		k++
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

type deadHarness struct {
	t     *testing.T
	dir   string
	d     *DeadSet
	opts  DeadSetOptions
	takes map[string][]DeadMessage
}

// drop closes the set's files the way the kernel does for a killed
// process: nothing of the set's own runs. Every write already reached the
// file when its call returned, so this is Close without its bookkeeping.
func (h *deadHarness) drop() {
	if h.d != nil {
		h.d.closeFiles()
		h.d = nil
	}
}

func deadArgs(fields []string) map[string]string {
	m := map[string]string{}
	for _, f := range fields {
		k, v, _ := strings.Cut(f, "=")
		m[k] = v
	}
	return m
}

func (h *deadHarness) num(args map[string]string, key string, def int64) int64 {
	v, ok := args[key]
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		h.t.Fatalf("%s=%q: %v", key, v, err)
	}
	return n
}

func (h *deadHarness) run(st deadStep) string {
	fields := strings.Fields(st.cmd)
	args := deadArgs(fields[1:])
	var out strings.Builder
	switch fields[0] {
	case "open", "reopen":
		if h.d != nil {
			h.t.Fatalf("line %d: %s while open", st.line, fields[0])
		}
		// reopen keeps the options of the last open but those it names.
		if fields[0] == "open" {
			h.opts = DeadSetOptions{Dir: h.dir, Name: "topic:channel"}
		}
		h.opts.MaxDepth = h.num(args, "max-depth", h.opts.MaxDepth)
		h.opts.MaxSegmentBytes = h.num(args, "segment-bytes", h.opts.MaxSegmentBytes)
		h.opts.MaxBodyBytes = int(h.num(args, "max-body", int64(h.opts.MaxBodyBytes)))
		// A kill -9 is what the transcripts crash, which fsync does not
		// change; "sync=1" runs the fsync path anyway.
		if v, ok := args["sync"]; ok || fields[0] == "open" {
			h.opts.NoSync = v != "1"
		}
		d, err := OpenDeadSet(h.opts)
		if err != nil {
			return "error: " + err.Error()
		}
		h.d = d
		h.takes = map[string][]DeadMessage{}
		out.WriteString(h.state())
		if s := d.Stats(); s.SkippedRecords+s.SkippedBytes+s.TruncatedBytes+s.Dropped > 0 {
			fmt.Fprintf(&out, "\nrecovered: skipped=%d records/%d bytes truncated=%d dropped=%d", s.SkippedRecords, s.SkippedBytes, s.TruncatedBytes, s.Dropped)
		}
	case "add":
		var msgs []DeadMessage
		for _, in := range st.input {
			msgs = append(msgs, h.parseMessage(in))
		}
		n, err := h.d.Add(msgs...)
		if err != nil {
			return "error: " + err.Error() + "\n" + h.state()
		}
		fmt.Fprintf(&out, "dropped=%d\n%s", n, h.state())
	case "peek":
		msgs, err := h.d.Peek(uint64(h.num(args, "after", 0)), int(h.num(args, "n", 100)))
		h.writeMessages(&out, msgs, err)
	case "take":
		msgs, err := h.d.Take(int(h.num(args, "n", 1)))
		name := args["as"]
		if name == "" {
			name = "t"
		}
		h.takes[name] = msgs
		h.writeMessages(&out, msgs, err)
		out.WriteString("\n" + h.state())
	case "commit":
		n, err := h.d.Commit(h.takes[h.takeName(fields)])
		if err != nil {
			return "error: " + err.Error()
		}
		fmt.Fprintf(&out, "committed=%d\n%s", n, h.state())
	case "release":
		n := h.d.Release(h.takes[h.takeName(fields)])
		fmt.Fprintf(&out, "released=%d\n%s", n, h.state())
	case "empty":
		n, err := h.d.Empty()
		if err != nil {
			return "error: " + err.Error()
		}
		fmt.Fprintf(&out, "emptied=%d\n%s", n, h.state())
	case "set-max-depth":
		n, err := h.d.SetMaxDepth(h.num(map[string]string{"n": fields[1]}, "n", 0))
		if err != nil {
			return "error: " + err.Error()
		}
		fmt.Fprintf(&out, "dropped=%d\n%s", n, h.state())
	case "state":
		out.WriteString(h.state())
	case "sync":
		if err := h.d.Sync(); err != nil {
			return "error: " + err.Error()
		}
		out.WriteString("ok")
	case "stats":
		s := h.d.Stats()
		fmt.Fprintf(&out, "added=%d dropped=%d redriven=%d emptied=%d skipped=%d records/%d bytes truncated=%d write-errors=%d",
			s.Added, s.Dropped, s.Redriven, s.Emptied, s.SkippedRecords, s.SkippedBytes, s.TruncatedBytes, s.WriteErrors)
	case "files":
		out.WriteString(h.files())
	case "close":
		if err := h.d.Close(); err != nil {
			return "error: " + err.Error()
		}
		h.d = nil
		out.WriteString("ok")
	case "delete":
		if err := h.d.Delete(); err != nil {
			return "error: " + err.Error()
		}
		h.d = nil
		out.WriteString(h.files())
	case "crash":
		h.drop()
		h.damageTail(args)
		out.WriteString(h.files())
	case "corrupt":
		path := filepath.Join(h.dir, deadSegmentName("topic:channel", h.num(args, "seg", 0)))
		data, err := os.ReadFile(path)
		if err != nil {
			return "error: " + err.Error()
		}
		off := h.num(args, "off", 0)
		if off < 0 {
			off += int64(len(data))
		}
		data[off] ^= 0xff
		if err := os.WriteFile(path, data, 0o600); err != nil {
			h.t.Fatal(err)
		}
		out.WriteString("ok")
	default:
		h.t.Fatalf("line %d: unknown command %q", st.line, fields[0])
	}
	return out.String()
}

func (h *deadHarness) takeName(fields []string) string {
	if len(fields) > 1 {
		return fields[1]
	}
	return "t"
}

func (h *deadHarness) parseMessage(line string) DeadMessage {
	f := strings.Fields(line)
	if len(f) < 2 || len(f[0]) > 16 {
		h.t.Fatalf("message %q: want <id of up to 16 bytes> <reason> [key=value...]", line)
	}
	var m DeadMessage
	copy(m.ID[:], f[0])
	r, err := ParseDeadReason(f[1])
	if err != nil {
		// Kept as a number so that the refusal of a bad reason can be shown.
		n, nerr := strconv.Atoi(f[1])
		if nerr != nil {
			h.t.Fatal(err)
		}
		r = DeadReason(n)
	}
	m.Reason = r
	args := deadArgs(f[2:])
	m.Attempts = uint16(h.num(args, "attempts", 0))
	m.Timestamp = h.num(args, "ts", 0)
	m.DiedAt = h.num(args, "died", 0)
	m.Body = []byte(args["body"])
	if n := h.num(args, "size", -1); n >= 0 {
		m.Body = bytes.Repeat([]byte("x"), int(n))
	}
	return m
}

func (h *deadHarness) writeMessages(out *strings.Builder, msgs []DeadMessage, err error) {
	if len(msgs) == 0 && err == nil {
		out.WriteString("(none)")
	}
	for i, m := range msgs {
		if i > 0 {
			out.WriteString("\n")
		}
		body := string(m.Body)
		if len(body) > 20 {
			body = fmt.Sprintf("%s...(%d bytes)", body[:8], len(m.Body))
		}
		fmt.Fprintf(out, "seq=%d id=%s %s attempts=%d ts=%d died=%d body=%s",
			m.Seq, strings.TrimRight(string(m.ID[:]), "\x00"), m.Reason, m.Attempts, m.Timestamp, m.DiedAt, body)
	}
	if err != nil {
		if len(msgs) > 0 {
			out.WriteString("\n")
		}
		out.WriteString("error: " + err.Error())
	}
}

func (h *deadHarness) state() string {
	s := h.d.Stats()
	return fmt.Sprintf("depth=%d bytes=%d taken=%d files=%d", s.Depth, s.Bytes, s.Taken, s.Segments)
}

// files lists the directory: every file the set left, with its size and
// checksum.
func (h *deadHarness) files() string {
	des, err := os.ReadDir(h.dir)
	if err != nil {
		h.t.Fatal(err)
	}
	if len(des) == 0 {
		return "(no files)"
	}
	var lines []string
	for _, de := range des {
		data, err := os.ReadFile(filepath.Join(h.dir, de.Name()))
		if err != nil {
			h.t.Fatal(err)
		}
		// The checksum shows whether a step changed a file's content.
		lines = append(lines, fmt.Sprintf("%s %d crc=%08x", de.Name(), len(data), deadChecksum(data)))
	}
	return strings.Join(lines, "\n")
}

// damageTail leaves the newest segment as a crash in the middle of a write
// could: cut short, or followed by bytes that were never acknowledged.
func (h *deadHarness) damageTail(args map[string]string) {
	nums, err := listDeadSegments(h.dir, "topic:channel")
	if err != nil || len(nums) == 0 {
		if len(args) > 0 {
			h.t.Fatalf("crash with damage but no segment: %v", err)
		}
		return
	}
	path := filepath.Join(h.dir, deadSegmentName("topic:channel", nums[len(nums)-1]))
	data, err := os.ReadFile(path)
	if err != nil {
		h.t.Fatal(err)
	}
	if n := h.num(args, "truncate", 0); n > 0 {
		data = data[:max(0, int64(len(data))-n)]
	}
	data = append(data, args["garbage"]...)
	data = append(data, make([]byte, h.num(args, "zeros", 0))...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		h.t.Fatal(err)
	}
}
