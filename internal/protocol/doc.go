// Package protocol owns the byte-level pieces both daemons share: name
// validation, the V2 frame layout, the message payload layout, message IDs,
// command-line splitting and the strict numeric parsing the protocol uses.
// Nothing here does I/O beyond writing into a caller's buffer.
// It is a leaf: it imports nothing of this module.
package protocol
