// Package browsertest holds nsqadmin's end-to-end tests: real in-process
// nsqlookupd, nsqd and nsqadmin, and every page loaded in a headless
// Chromium driven by chromedp. The tests skip, saying so, when no Chromium
// is installed; `make test` prints a line when that is the case.
package browsertest
