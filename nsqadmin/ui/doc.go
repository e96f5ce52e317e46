// Package ui is nsqadmin's single-page web app: hand-written HTML, CSS and
// JavaScript embedded in the binary, so `make`, `make run` and `make test`
// need only Go (no Node build step).
//
// It holds only the embedded assets and imports nothing of this module;
// nsqadmin serves it, so it must never import nsqadmin.
package ui
