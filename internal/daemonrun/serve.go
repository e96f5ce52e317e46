package daemonrun

import "context"

// Daemon is a daemon library's serving surface: Main serves until Exit is
// called or serving fails; Exit stops it and waits for its goroutines.
type Daemon interface {
	Main() error
	Exit()
}

// Serve runs d until ctx is done (a signal) or Main returns, stops it, and
// returns the exit status: 0 after a stop asked for by ctx or a clean
// return of Main, 1 when Main failed.
func Serve(ctx context.Context, d Daemon) int {
	mainErr := make(chan error, 1)
	go func() { mainErr <- d.Main() }()
	code := 0
	select {
	case <-ctx.Done():
		d.Exit()
		<-mainErr
	case err := <-mainErr:
		if err != nil {
			code = 1
		}
		d.Exit()
	}
	return code
}
