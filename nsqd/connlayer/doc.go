// Package connlayer owns the layers an nsqd TCP connection can add under
// its buffers after IDENTIFY, and the TLS configuration they use:
//
//	compress.go    snappy's framed stream and raw DEFLATE (Compression), and
//	               the writer that flushes a compressor only when written to
//	handshake.go   the server side of the tls_v1 upgrade, replaying bytes
//	               read ahead of the switch (the same for a compressor)
//	tls_config.go  the server and client tls.Config built from the TLS files
//	tls_names.go   cipher suite and version names as upstream's /stats shows them
//
// It holds no connection: nsqd's client keeps the layers and swaps them
// in its reader goroutine (nsqd/client_conn.go), and reaches a compressor
// through an interface of its own (io.Writer and Flush). Time comes from
// the internal/clock the caller passes (the handshake's bound); it imports
// nothing else of this module.
package connlayer
