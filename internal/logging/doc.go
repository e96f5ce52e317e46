// Package logging owns the leveled, prefixed logger every binary uses, with
// upstream's level names and their numeric values (1 debug .. 5 fatal).
//
// It is a leaf: it imports nothing of this module, since the daemons, the
// client library and the tools all import it.
package logging
