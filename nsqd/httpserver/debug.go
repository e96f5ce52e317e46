package httpserver

import (
	"fmt"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"

	"github.com/julienschmidt/httprouter"
)

// The /debug endpoints answer in plain text without the V1 header, as
// upstream's do; they are for people with a terminal, not for tools.

// setBlockRate sets the block profile rate for /debug/pprof/block. The
// rate may come from the query or a form body, as upstream reads it.
func (s *Server) setBlockRate(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	rate, err := strconv.Atoi(r.FormValue("rate"))
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "invalid block rate : %s", err)
		return
	}
	runtime.SetBlockProfileRate(rate)
	// Upstream answers a 500 here (its plain-text wrapper cannot render an
	// empty result); nothing depends on that, so success is a 200.
	w.WriteHeader(http.StatusOK)
}

// freeMemory forces a GC and returns freed memory to the OS.
func (s *Server) freeMemory(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	debug.FreeOSMemory()
	w.WriteHeader(http.StatusOK)
}
