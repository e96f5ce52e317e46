// Package promexpo owns the Prometheus text exposition (format 0.0.4) the
// three daemons serve at /metrics, written without the Prometheus client
// library: descriptions of metric families (desc.go), one scrape's samples
// gathered from collectors and checked against their descriptions
// (scrape.go), the text encoding (text.go), the HTTP handler with gzip
// negotiation and per-collector failure handling (registry.go,
// accept_encoding.go), and the Go runtime and process collectors every
// Prometheus user expects (go_collector.go, process_collector.go), under
// the family names, types and help texts client_golang v1.25's default
// collectors use so dashboards built on them keep working.
//
// Why not client_golang: it always links client_model's protobuf types
// (its registry gathers into them), about 3.5 MB of nsqd's binary, and the
// binary's file-backed pages are a large part of nsqd's resident memory
// (README, "Performance"). client_golang, client_model and
// prometheus/common remain test-only: the tests check this package's output
// with expfmt's parser and encoder and compare its Go and process families
// with client_golang's.
//
// Only the text format is written: a scraper asking for protobuf or
// OpenMetrics gets text, which Prometheus accepts as its fallback.
//
// It imports the standard library and klauspost/compress's gzip only.
package promexpo
