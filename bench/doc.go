// Package bench measures Vigil's production host (runtime/host) over real HTTP with
// keep-alive connections and the production store making every group commit durable (fsync on:
// one fdatasync of its log per group, runtime/store/bolt), the way
// Restate 1.7.12 was measured on a machine like ours:
//
//   - echo: synchronous calls of Echo/echo at a given concurrency (calls/s, p50, p99);
//   - awakeable round trip: a synchronous call of Callback/await, whose handler creates an
//     awakeable and posts its ID to a webhook the load generator serves; the load generator
//     resolves it over HTTP (/restate/awakeables/{id}/resolve) and the call returns the value.
//     Each round trip also yields a resolve-to-result latency: from the resolve POST to the
//     call's answer;
//   - suspended resolve: the same, but the load generator waits past the host's inactivity
//     timeout before it resolves, so the invocation has suspended and the resolve has to start
//     a new attempt that replays the journal.
//
// The load generator is bench/loadgen (go run ./bench/loadgen -h); the same loads run as
// go test benchmarks (go test -bench . -benchtime 2s ./bench/). README.md has the commands and
// the figures measured on the project's 2-core machine.
//
// bench may import the runtime and the seed handlers; nothing in the runtime imports it.
package bench
