package chaos

import "syscall"

// Windows has no SIGSTOP or SIGCONT: these stand-ins (Linux's numbers) only
// keep the harness compiling. os.Process.Signal there sends nothing but a
// kill, so the sigstop and sigterm faults fail with an error: the harness is
// for Unix (README, "Install": what is tested where).
const (
	sigStop = syscall.Signal(0x13)
	sigCont = syscall.Signal(0x12)
)
