package nsqd

import (
	"github.com/nsqgo/nsq/internal/diskqueue"
	"github.com/nsqgo/nsq/internal/protocol"
)

// diskBackend adapts the disk queue to BackendQueue: it encodes a batch into
// one buffer and hands it to the queue as one grouped write. Its owner (a
// topic or channel) calls it under its own lock, so the scratch buffers need
// no lock of their own.
type diskBackend struct {
	queue   *diskqueue.Queue
	nsqd    *NSQD
	name    string
	encoded []byte
	records [][]byte
}

// openDiskBackend opens the queue named as upstream names it: "<topic>" for
// a topic, "<topic>:<channel>" for a channel.
func (n *NSQD) openDiskBackend(name string) (*diskBackend, error) {
	queue, err := diskqueue.Open(diskqueue.Options{
		Dir:             n.dataPath(),
		Name:            name,
		MaxBytesPerFile: n.opts.MaxBytesPerFile,
		MinMsgSize:      protocol.MessageHeaderLength,
		MaxMsgSize:      int32(n.opts.MaxMsgSize) + protocol.MessageHeaderLength + diskRecordHeader,
		SyncEvery:       n.opts.SyncEvery,
		SyncTimeout:     n.opts.SyncTimeout,
		SyncObserver:    n.metrics.fsync.observe,
		Logf: func(format string, args ...any) {
			n.logf(warnLevel, format, args...)
		},
	})
	if err != nil {
		return nil, err
	}
	return &diskBackend{queue: queue, nsqd: n, name: name}, nil
}

func (d *diskBackend) Put(msgs []Message) error {
	d.encoded = d.encoded[:0]
	for i := range msgs {
		d.encoded = appendDiskRecord(d.encoded, &msgs[i])
	}
	// Slice the records out only now: appending may have moved the buffer.
	d.records = d.records[:0]
	start := 0
	for i := range msgs {
		end := start + diskRecordHeader + protocol.MessageHeaderLength + len(msgs[i].Body)
		d.records = append(d.records, d.encoded[start:end:end])
		start = end
	}
	_, err := d.queue.Put(d.records)
	clear(d.records)
	d.nsqd.recordWrite(err)
	return err
}

// ReadInto moves up to max messages from disk into dst without blocking.
// A record that cannot be decoded is logged and skipped.
func (d *diskBackend) ReadInto(dst []Message, max int) ([]Message, error) {
	records, err := d.queue.Read(max)
	for _, r := range records {
		m, decodeErr := decodeDiskRecord(r.Data, r.Legacy)
		if decodeErr != nil {
			d.nsqd.logf(errorLevel, "DISKQUEUE(%s): failed to decode message - %s", d.name, decodeErr)
			d.queue.Ack(r.Seq)
			continue
		}
		m.diskSeq = r.Seq
		dst = append(dst, m)
	}
	return dst, err
}

func (d *diskBackend) Ack(seqs ...uint64) { d.queue.Ack(seqs...) }
func (d *diskBackend) Depth() int64       { return d.queue.Depth() }
func (d *diskBackend) Empty() error       { return d.queue.Empty() }
func (d *diskBackend) Close() error       { return d.queue.Close() }
func (d *diskBackend) Delete() error      { return d.queue.Delete() }

// Stats exposes the queue's damage and error counters for /stats.
func (d *diskBackend) Stats() diskqueue.Stats { return d.queue.Stats() }
