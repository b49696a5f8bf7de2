// Command loadgen measures a Vigil host over HTTP with keep-alive connections and fsync on,
// and prints the figures next to Restate 1.7.12's, measured on a 2-core machine like ours:
//
//   - echo calls/s with p50 and p99 at each -echo-c concurrency (Echo/echo);
//   - awakeable round trips/s (call Callback/await, get the awakeable ID on a webhook, resolve
//     it over HTTP, get the call's result) at each -awakeable-c concurrency;
//   - resolve-to-result latency (from the resolve POST to the call's answer), from the
//     round trips at concurrency 1;
//   - the same for suspended invocations: the round trip waits -suspend-wait before resolving,
//     past the host's inactivity timeout, so the resolve starts a new attempt that replays.
//
// By default it starts the hosts in-process (runtime/host, production store in -data, fsync on
// every group commit): one with the default inactivity timeout for the first three, one that
// suspends after -inactivity for the last. With -url it measures a running host instead,
// which must serve Echo and Callback (examples/seed/handlers) and be able to reach the
// webhook on -callback-addr; start it with an -inactivity-timeout below -suspend-wait.
//
// Each measurement runs -runs times; the table shows the median of each figure. Beside each
// throughput and latency it prints Restate's stored figure and the ratio (Vigil's speed-up), and,
// for in-process hosts, what one operation cost: fsyncs (the store's own count, bolt
// Stats.Fsyncs) and CPU (getrusage of this process, user+sys, so the load generator's own client
// work is included: an upper bound on the host's).
//
//	go run ./bench/loadgen [-runs 3] [-duration 5s] [-url http://127.0.0.1:8080]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/vigilsim/vigil/bench"
)

// options are the command line's settings.
type options struct {
	url          string
	dataDir      string
	runs         int
	duration     time.Duration
	warmup       time.Duration
	echoC        []int
	awakeableC   []int
	suspendWait  time.Duration
	inactivity   time.Duration
	suspendTime  time.Duration
	callbackAddr string
	verbose      bool
	// cpuProfile, when set, is where the whole process's CPU profile over all measurements
	// is written, so that the host's cost per request can be read with go tool pprof.
	cpuProfile string
}

func main() {
	os.Exit(mainCode())
}

// mainCode is main with its exit code returned, so that the deferred profile stop runs.
func mainCode() int {
	o, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen: -cpuprofile:", err)
			return 2
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen: -cpuprofile:", err)
			return 2
		}
		defer func() {
			pprof.StopCPUProfile()
			if err := f.Close(); err != nil {
				fmt.Fprintln(os.Stderr, "loadgen: -cpuprofile:", err)
			}
		}()
	}
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		return 1
	}
	return 0
}

func parseFlags() (options, error) {
	var o options
	var echoC, awakeableC string
	flag.StringVar(&o.url, "url", "", "measure the host at this ingress URL instead of starting hosts in-process (it must serve Echo and Callback)")
	flag.StringVar(&o.dataDir, "data", "", "parent directory of the in-process hosts' stores (default: a temporary directory, removed afterwards); must not be a tmpfs, or fsync is free")
	flag.IntVar(&o.runs, "runs", 3, "how many times to run each measurement; the table shows medians")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of each throughput measurement")
	flag.DurationVar(&o.warmup, "warmup", 500*time.Millisecond, "unmeasured warm-up before each throughput measurement")
	flag.StringVar(&echoC, "echo-c", "1,16,64", "comma-separated concurrencies of the echo measurement")
	flag.StringVar(&awakeableC, "awakeable-c", "1,16,64", "comma-separated concurrencies of the awakeable round trip (resolve-to-result comes from C=1)")
	flag.DurationVar(&o.suspendWait, "suspend-wait", 100*time.Millisecond, "how long a suspended round trip waits before resolving; must exceed the host's inactivity timeout")
	flag.DurationVar(&o.inactivity, "inactivity", 20*time.Millisecond, "inactivity timeout of the in-process host used for the suspended measurement")
	flag.DurationVar(&o.suspendTime, "suspend-duration", 5*time.Second, "length of the suspended measurement (one round trip at a time; 0 skips it)")
	flag.StringVar(&o.callbackAddr, "callback-addr", "127.0.0.1:0", "address of the webhook that receives awakeable IDs (the host must reach it)")
	flag.BoolVar(&o.verbose, "v", false, "print every run's figures and the hosts' group-commit statistics")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write the process's CPU profile over the whole session to this file (host and load generator both)")
	flag.Parse()
	var err error
	if o.echoC, err = parseInts(echoC); err != nil {
		return o, fmt.Errorf("-echo-c: %w", err)
	}
	if o.awakeableC, err = parseInts(awakeableC); err != nil {
		return o, fmt.Errorf("-awakeable-c: %w", err)
	}
	if o.runs < 1 || o.duration <= 0 {
		return o, errors.New("-runs and -duration must be positive")
	}
	if o.url == "" && o.suspendTime > 0 && o.suspendWait <= o.inactivity {
		return o, fmt.Errorf("-suspend-wait %s must exceed -inactivity %s, or nothing suspends", o.suspendWait, o.inactivity)
	}
	return o, nil
}

// parseInts parses "1,16,64".
func parseInts(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// figures are one measurement's results over the runs.
type figures struct {
	perSecond, p50, p99 []float64
	// fsyncs and cpuMS are per operation, from the runs that could measure them (in-process
	// hosts only).
	fsyncs, cpuMS []float64
	errors        int
}

func (f *figures) add(r bench.Result, c cost) {
	f.perSecond = append(f.perSecond, r.PerSecond())
	f.p50 = append(f.p50, float64(r.Percentile(0.5))/float64(time.Millisecond))
	f.p99 = append(f.p99, float64(r.Percentile(0.99))/float64(time.Millisecond))
	f.errors += r.Errors
	if c.known && r.Ops > 0 {
		f.fsyncs = append(f.fsyncs, float64(c.fsyncs)/float64(r.Ops))
		f.cpuMS = append(f.cpuMS, float64(c.cpu)/float64(time.Millisecond)/float64(r.Ops))
	}
}

// cost is what a measurement cost the machine: the store's fsyncs and this process's CPU time
// (user+sys) between two probes. known is false when the host is not in this process.
type cost struct {
	fsyncs uint64
	cpu    time.Duration
	known  bool
}

// sub returns the cost from before to c.
func (c cost) sub(before cost) cost {
	return cost{fsyncs: c.fsyncs - before.fsyncs, cpu: c.cpu - before.cpu, known: c.known && before.known}
}

// probe reads the in-process host's fsync count and the process's CPU time so far; it knows
// nothing when h is nil (a host measured over -url).
func probe(h *bench.Host) cost {
	if h == nil {
		return cost{}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return cost{}
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return cost{fsyncs: h.Host.Stats().Store.Fsyncs, cpu: cpu, known: true}
}

// median returns the median of xs (the mean of the middle two for an even count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// row is one line of the table: a measurement's key (into restate and the results) and label.
type row struct {
	key, label string
	// latencyOnly rows show p50 and p99 without a throughput.
	latencyOnly bool
}

// reference is one of Restate 1.7.12's stored figures for a measurement; a zero field was not
// measured.
type reference struct {
	// perSecond is its throughput and p50MS its median latency.
	perSecond, p50MS float64
	// fsyncs is what one operation cost it in fsyncs, and cpuMS in server CPU: the low end of
	// the range measured (4.3 to 5.4 ms per echo), so that the ratio errs against Vigil.
	fsyncs, cpuMS float64
}

// restate holds Restate 1.7.12's figures, measured with fsync on on a 2-core machine like
// ours, by measurement key (see the issue on speed and bench/README.md).
var restate = map[string]reference{
	"echo-1":       {perSecond: 255, fsyncs: 3, cpuMS: 4.3},
	"echo-16":      {perSecond: 879, cpuMS: 4.3},
	"awakeable-1":  {perSecond: 125},
	"awakeable-16": {perSecond: 271},
	"resolve":      {p50MS: 3.43},
	"suspended":    {p50MS: 8.05},
}

func run(ctx context.Context, o options) error {
	cb, err := bench.NewCallbacks(o.callbackAddr)
	if err != nil {
		return err
	}
	defer cb.Close()

	parent := o.dataDir
	if o.url == "" && parent == "" {
		if parent, err = os.MkdirTemp("", "vigil-loadgen-"); err != nil {
			return err
		}
		defer os.RemoveAll(parent)
	}

	results := map[string]*figures{}
	record := func(key string, r bench.Result, c cost) {
		if results[key] == nil {
			results[key] = &figures{}
		}
		results[key].add(r, c)
		if o.verbose {
			line := r.String()
			if c.known && r.Ops > 0 {
				line += fmt.Sprintf(", %.2f fsyncs and %.3f ms CPU per op", float64(c.fsyncs)/float64(r.Ops), float64(c.cpu)/float64(time.Millisecond)/float64(r.Ops))
			}
			fmt.Fprintf(os.Stderr, "  %s\n", line)
		}
	}
	var rows []row
	for _, c := range o.echoC {
		rows = append(rows, row{key: fmt.Sprintf("echo-%d", c), label: fmt.Sprintf("echo, C=%d", c)})
	}
	for _, c := range o.awakeableC {
		rows = append(rows, row{key: fmt.Sprintf("awakeable-%d", c), label: fmt.Sprintf("awakeable round trip, C=%d", c)})
	}
	if slices.Contains(o.awakeableC, 1) {
		rows = append(rows, row{key: "resolve", label: "resolve-to-result, C=1", latencyOnly: true})
	}
	if o.suspendTime > 0 {
		rows = append(rows, row{key: "suspended", label: "suspended resolve-to-result, C=1", latencyOnly: true})
	}

	for i := range o.runs {
		fmt.Fprintf(os.Stderr, "run %d of %d\n", i+1, o.runs)
		if err := oneRun(ctx, o, cb, filepath.Join(parent, fmt.Sprintf("run-%d", i+1)), record); err != nil {
			return err
		}
	}

	where := "in-process hosts, production store with fsync on every group commit; CPU is this process's (host and load generator)"
	if o.url != "" {
		where = "host at " + o.url + " (fsyncs and CPU unknown)"
	}
	fmt.Printf("\nVigil: %s; median of %d runs of %s each (suspended: %s, waiting %s). Restate 1.7.12's stored figures beside, x = Vigil's speed-up.\n",
		where, o.runs, o.duration, o.suspendTime, o.suspendWait)
	return printTable(os.Stdout, rows, results)
}

// printTable prints one line per row that was measured.
func printTable(out io.Writer, rows []row, results map[string]*figures) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "measurement\tVigil\tRestate\tx\tp50\tRestate p50\tx\tp99\tfsyncs/op\tRestate\tCPU/op\tRestate\tx\t")
	for _, r := range rows {
		f := results[r.key]
		if f == nil {
			continue
		}
		ref := restate[r.key]
		rate, refRate, rateX := "", "", ""
		if !r.latencyOnly {
			rate = fmt.Sprintf("%.0f/s", median(f.perSecond))
			refRate, rateX = refFigure(ref.perSecond, "%.0f/s"), ratio(median(f.perSecond), ref.perSecond)
		}
		p50 := median(f.p50)
		cells := []string{
			r.label, rate, refRate, rateX,
			fmt.Sprintf("%.2f ms", p50), refFigure(ref.p50MS, "%.2f ms"), ratio(ref.p50MS, p50),
			fmt.Sprintf("%.2f ms", median(f.p99)),
			measured(f.fsyncs, "%.2f"), refFigure(ref.fsyncs, "%.0f"),
			measured(f.cpuMS, "%.3f ms"), refFigure(ref.cpuMS, "%.1f ms"), ratio(ref.cpuMS, median(f.cpuMS)),
		}
		line := strings.Join(cells, "\t") + "\t"
		if f.errors > 0 {
			line += fmt.Sprintf("(%d errors)", f.errors)
		}
		fmt.Fprintln(w, line)
	}
	return w.Flush()
}

// refFigure renders a stored Restate figure, or "-" when none was measured.
func refFigure(x float64, format string) string {
	if x == 0 {
		return "-"
	}
	return fmt.Sprintf(format, x)
}

// measured renders the median of xs, or "-" when nothing was measured.
func measured(xs []float64, format string) string {
	if len(xs) == 0 {
		return "-"
	}
	return fmt.Sprintf(format, median(xs))
}

// ratio renders better/worse as a speed-up ("3.1x"), or "" when either is unknown.
func ratio(better, worse float64) string {
	if better == 0 || worse == 0 {
		return ""
	}
	return fmt.Sprintf("%.1fx", better/worse)
}

// oneRun runs every measurement once. In-process, it starts its hosts in fresh directories
// under dir.
func oneRun(ctx context.Context, o options, cb *bench.Callbacks, dir string, record func(string, bench.Result, cost)) error {
	url := o.url
	var fast *bench.Host
	if url == "" {
		var err error
		fast, err = bench.StartHost(bench.HostOptions{DataDir: filepath.Join(dir, "fast")})
		if err != nil {
			return err
		}
		defer fast.Close()
		url = fast.URL
	}
	maxC := slices.Max(append(slices.Clone(o.echoC), o.awakeableC...))
	c := bench.NewClient(url, 2*maxC)
	defer c.Close()

	for _, n := range o.echoC {
		var r bench.Result
		spent, err := measure(ctx, o, fast, n, func(l bench.Load) (err error) {
			r, err = bench.Echo(ctx, c, l)
			return err
		})
		if err != nil {
			return err
		}
		record(fmt.Sprintf("echo-%d", n), r, spent)
	}
	for _, n := range o.awakeableC {
		var whole, part bench.Result
		spent, err := measure(ctx, o, fast, n, func(l bench.Load) (err error) {
			whole, part, err = bench.AwakeableRoundTrip(ctx, c, cb, l)
			return err
		})
		if err != nil {
			return err
		}
		record(fmt.Sprintf("awakeable-%d", n), whole, spent)
		if n == 1 {
			record("resolve", part, cost{})
		}
	}
	if fast != nil && o.verbose {
		st := fast.Host.Stats()
		if st.Syncs > 0 {
			fmt.Fprintf(os.Stderr, "  host: %d inputs, %d batches in %d syncs (%.1f batches per sync), mean sync %s; store: %d fsyncs (%.2f per sync), %d log records of %.0f bytes on average, %d checkpoints, %d syncs waited for one\n",
				st.Inputs, st.Batches, st.Syncs, float64(st.Batches)/float64(st.Syncs),
				(st.SyncTime / time.Duration(st.Syncs)).Round(time.Microsecond),
				st.Store.Fsyncs, float64(st.Store.Fsyncs)/float64(st.Syncs),
				st.Store.LogRecords, float64(st.Store.LogBytes)/float64(max(st.Store.LogRecords, 1)),
				st.Store.Checkpoints, st.Store.CheckpointWaits)
		}
	}

	if o.suspendTime <= 0 {
		return nil
	}
	surl, sc := url, c
	if o.url == "" {
		slow, err := bench.StartHost(bench.HostOptions{DataDir: filepath.Join(dir, "suspend"), InactivityTimeout: o.inactivity})
		if err != nil {
			return err
		}
		defer slow.Close()
		surl = slow.URL
		sc = bench.NewClient(surl, 2)
		defer sc.Close()
	}
	r, err := bench.SuspendedResolve(ctx, sc, cb, o.suspendWait, bench.Load{Concurrency: 1, Duration: o.suspendTime})
	if err != nil {
		return err
	}
	record("suspended", r, cost{})
	return nil
}

// measure runs a warm-up of o.warmup and then the measurement of o.duration at concurrency n,
// and returns what the measurement alone cost h's store and this process (nothing known when h
// is nil).
func measure(ctx context.Context, o options, h *bench.Host, n int, load func(bench.Load) error) (cost, error) {
	if o.warmup > 0 {
		if err := load(bench.Load{Concurrency: n, Duration: o.warmup}); err != nil {
			return cost{}, err
		}
	}
	before := probe(h)
	if err := load(bench.Load{Concurrency: n, Duration: o.duration}); err != nil {
		return cost{}, err
	}
	return probe(h).sub(before), nil
}
