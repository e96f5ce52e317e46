//go:build !linux

package hugepage

import "errors"

func errEINVALForTest() error { return errors.New("unsupported") }
