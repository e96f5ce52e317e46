//go:build !linux

package hugepage

import "errors"

// Mode is ModeUnavailable outside Linux.
func Mode() THPMode { return ModeUnavailable }

var errNoTHP = errors.New("transparent huge pages are Linux-only")

func madviseHuge(start, length uintptr) error { return errNoTHP }

func errUnsupported(err error) bool { return true }

// Marked is always false outside Linux.
func Marked[T any](s []T) (bool, error) { return false, errNoTHP }
