package lookupdhttp

import (
	"context"
	"slices"
	"sync"
)

// Answer is what one of several asked lookupds said.
type Answer[T any] struct {
	Addr  string
	Value T
	Err   error
}

// AskEach asks every address at once and waits for all of them. The
// answers are in the order of addrs, so what callers build from them does
// not depend on which lookupd was quicker. ask bounds its own wait (the
// Client's request timeout, or a deadline on ctx).
func AskEach[T any](ctx context.Context, addrs []string, ask func(ctx context.Context, addr string) (T, error)) []Answer[T] {
	answers := make([]Answer[T], len(addrs))
	var wg sync.WaitGroup
	for i, addr := range addrs {
		answers[i].Addr = addr
		wg.Go(func() { answers[i].Value, answers[i].Err = ask(ctx, addr) })
	}
	wg.Wait()
	return answers
}

// Errors is the errors of the answers that failed, in address order; nil
// when every lookupd answered.
func Errors[T any](answers []Answer[T]) []error {
	var errs []error
	for _, a := range answers {
		if a.Err != nil {
			errs = append(errs, a.Err)
		}
	}
	return errs
}

// Union is key of every item the successful answers hold, sorted, each
// once; never nil.
func Union[T any](answers []Answer[[]T], key func(T) string) []string {
	out := []string{}
	for _, a := range answers {
		if a.Err != nil {
			continue
		}
		for _, item := range a.Value {
			out = append(out, key(item))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// UnionNames is Union of name lists (topics, channels).
func UnionNames(answers []Answer[[]string]) []string {
	return Union(answers, func(name string) string { return name })
}
