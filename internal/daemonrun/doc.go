// Package daemonrun owns the serve-until-stopped loop the daemons' thin
// mains share (apps/nsqlookupd, apps/nsqadmin). It imports nothing of the
// module: a daemon is anything with Main and Exit.
package daemonrun
