// Package docrules holds no code: its tests check the repository's rules
// about documentation and layout, so that they cannot quietly decay.
//
//   - Comments cite only files in this repository: no section-sign
//     numbers and no names of documents kept elsewhere.
//   - Every package of the daemons (nsqd, nsqlookupd, nsqadmin), internal/,
//     bench/internal/ and test/ has a doc.go whose package comment says
//     what the package owns.
//   - Imports point one way: the shared pieces under internal/ never import
//     a daemon, the daemons never import each other, and the leaves import
//     nothing of this module.
//
// The lock order of nsqd and the disk queue is checked beside it, by
// nsqd/lockorder_test.go against nsqd/LOCKS.md.
//
// It imports nothing of this module and nothing imports it.
package docrules
