package promexpo

import (
	"strconv"
	"strings"
)

// acceptsGzip says whether an Accept-Encoding header (its lines joined by
// commas) lets the answer be gzipped: gzip (or x-gzip) named with a
// q-value above zero, or, gzip not named, * above zero. A q-value that
// does not parse as a number in [0, 1] counts as 0: when in doubt the
// answer goes uncompressed, which every scraper reads.
func acceptsGzip(header string) bool {
	gzipQ, anyQ := -1.0, -1.0
	for header != "" {
		var part string
		part, header, _ = strings.Cut(header, ",")
		coding, params, _ := strings.Cut(part, ";")
		coding = strings.TrimSpace(coding)
		q := 1.0
		for params != "" {
			var param string
			param, params, _ = strings.Cut(params, ";")
			key, value, ok := strings.Cut(param, "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(key), "q") {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			if err != nil || !(f >= 0 && f <= 1) {
				f = 0
			}
			q = f
		}
		switch {
		case strings.EqualFold(coding, "gzip"), strings.EqualFold(coding, "x-gzip"):
			gzipQ = max(gzipQ, q)
		case coding == "*":
			anyQ = max(anyQ, q)
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return anyQ > 0
}
