// Command reports measures the historical queue report on a month of one
// busy tenant: by default 10,000,000 interactions over 30 days in
// America/Sao_Paulo, on 50 queues of 4 channels served by 1,000 agents, with
// abandons (short ones too), dispositions and survey answers.
//
// The month is simulated (gen.go) and turned into interval statistics by the
// product's own fold (report.Fold, what the aggregator runs): the simulated
// events go through it in time order, in memory, and the rows it hands over
// are saved with the store's SaveStats at the end of each simulated day, as
// the aggregator saves them. Raw events are not stored: reports read only
// the interval statistics, never the events. One fold feeds every store
// asked for, so SQLite and PostgreSQL hold the same figures.
//
// For each store it starts `atende serve` (-bin) once to set the tenant up
// (the "default" tenant, its administrator), stops it, writes the queues,
// dispositions and the month's statistics in process, then starts it again
// and times the request a user makes: GET /api/v1/reports/queues for the
// whole month, every queue, grouped by interval (JSON and CSV) and by day.
// Cold is the first request of each kind after a fresh start of the server
// (the operating system's page cache is not dropped); warm is -n more.
// The report's totals are checked against the simulation's own counts.
//
//	go build -o /tmp/atende ./cmd/atende
//	go run ./bench/reports -bin /tmp/atende                       # SQLite and PostgreSQL, 10 M
//	go run ./bench/reports -bin /tmp/atende -dir /tmp/r -keep     # keep the data to measure again
//	go run ./bench/reports -bin /tmp/atende -dir /tmp/r           # measure the kept data (no generation)
//	go run ./bench/reports -dry -interactions 1000000 -days 3     # simulate only, print the figures
//
// PostgreSQL gets a database of its own (atende_bench_reports), made from
// -pg and dropped at the end unless -keep. The last lines of output are
// machine-readable:
//
//	RESULT store=... request=... cold_ms=... p50_ms=... p90_ms=... max_ms=... server_cpu_ms=... bytes=... lines=...
//
// server_cpu_ms is the server's CPU time per warm request (user and system,
// from /proc): on a busy machine the latencies include waiting for a CPU.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/bench/internal/server"
	"github.com/atende/atende/internal/report"
	"github.com/atende/atende/internal/store"
)

type options struct {
	bin, dir, pg, stores, tz, month string
	interactions                    int64
	days, n, parts                  int
	keep, dry                       bool
	cpuprofile, profile             string
}

const pgDB = "atende_bench_reports"

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "./atende", "atende binary")
	flag.StringVar(&o.dir, "dir", "", "working directory (default: a temporary one); when it holds a generated month, that month is measured again")
	flag.StringVar(&o.pg, "pg", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL URL to create the bench database from")
	flag.StringVar(&o.stores, "stores", "sqlite,postgres", "stores to measure")
	flag.StringVar(&o.tz, "tz", "America/Sao_Paulo", "the tenant's time zone")
	flag.StringVar(&o.month, "from", "2026-09-01", "first day of the month, on the tenant's clock")
	flag.Int64Var(&o.interactions, "interactions", 10_000_000, "interactions in the month")
	flag.IntVar(&o.days, "days", 30, "days")
	flag.IntVar(&o.parts, "parts", 5, "parts of the simulation run side by side (teams are dealt to them)")
	flag.IntVar(&o.n, "n", 10, "warm repetitions of each request")
	flag.BoolVar(&o.keep, "keep", false, "keep the working directory and the PostgreSQL database")
	flag.BoolVar(&o.dry, "dry", false, "simulate and fold only; store nothing")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the generation to `file`")
	flag.StringVar(&o.profile, "profile", "", "write the server's CPU profile during the warm interval_json requests to `prefix`-STORE.pprof")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "reports:", err)
		os.Exit(1)
	}
}

// target is one store under test.
type target struct {
	name     string
	data     string // data directory
	dsn      string // empty for SQLite
	st       *store.Store
	tenantID string
	ids      map[string]string // the simulation's queue and disposition ids -> the store's
}

// summary is what generation found, kept in the working directory so that a
// kept month can be measured again.
type summary struct {
	Stores       []string `json:"stores"`
	Arrivals     int64    `json:"arrivals"`
	Handled      int64    `json:"handled"`
	Abandoned    int64    `json:"abandoned"`
	Events       int64    `json:"events"`
	Rows         int64    `json:"rows_saved"`
	GenerateSec  float64  `json:"generate_sec"`
	From         string   `json:"from"`
	Days         int      `json:"days"`
	TimeZone     string   `json:"time_zone"`
	Interactions int64    `json:"interactions"`
}

func run(ctx context.Context, o options) error {
	loc, err := time.LoadLocation(o.tz)
	if err != nil {
		return err
	}
	first, err := time.ParseInLocation(time.DateOnly, o.month, loc)
	if err != nil {
		return fmt.Errorf("-from: %w", err)
	}
	if o.dry {
		parts := newParts(loc, first, o)
		if o.cpuprofile != "" {
			f, err := os.Create(o.cpuprofile)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
		t0 := time.Now()
		st, err := month(ctx, parts, func(map[report.Key]*report.Row) error { return nil }, func(d int, st genStats, took time.Duration) {
			fmt.Printf("day %d: %d arrivals so far, %d abandoned, %d events, day took %v\n", d+1, st.arrivals, st.abandoned, st.events, took.Round(time.Millisecond))
		})
		fmt.Printf("simulated %d interactions (%d handled, %d abandoned, %.1f %%), %d events, %d row deltas, in %v\n", st.arrivals, st.handled, st.abandoned,
			100*float64(st.abandoned)/float64(st.arrivals), st.events, st.rows, time.Since(t0).Round(time.Second))
		return err
	}

	dir := o.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "reports-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	var targets []*target
	for _, name := range strings.Split(o.stores, ",") {
		switch name {
		case "sqlite":
			targets = append(targets, &target{name: "sqlite", data: filepath.Join(dir, "sqlite")})
		case "postgres":
			targets = append(targets, &target{name: "postgres", data: filepath.Join(dir, "pg-data"), dsn: withDB(o.pg, pgDB)})
		default:
			return fmt.Errorf("-stores: unknown store %q", name)
		}
	}
	defer func() {
		if o.keep {
			fmt.Printf("kept %s", dir)
			if slices.ContainsFunc(targets, func(t *target) bool { return t.dsn != "" }) {
				fmt.Printf(" and database %s", pgDB)
			}
			fmt.Println()
			return
		}
		for _, t := range targets {
			if t.dsn != "" {
				if err := adminExec(o.pg, `DROP DATABASE IF EXISTS `+pgDB+` WITH (FORCE)`); err != nil {
					fmt.Fprintln(os.Stderr, "drop database:", err)
				}
			}
		}
		os.RemoveAll(dir)
	}()

	var sum summary
	sumPath := filepath.Join(dir, "generated.json")
	if b, err := os.ReadFile(sumPath); err == nil {
		if err := json.Unmarshal(b, &sum); err != nil {
			return err
		}
		fmt.Printf("measuring the month generated before in %s (%d interactions from %s)\n", dir, sum.Arrivals, sum.From)
		first, _ = time.ParseInLocation(time.DateOnly, sum.From, loc)
		o.days = sum.Days
	} else {
		if sum, err = generate(ctx, o, loc, first, targets); err != nil {
			return err
		}
		b, _ := json.MarshalIndent(sum, "", "  ")
		if err := os.WriteFile(sumPath, b, 0o640); err != nil {
			return err
		}
	}
	last := first.AddDate(0, 0, o.days-1)
	for _, t := range targets {
		if err := measure(ctx, o, t, first, last, sum); err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
	}
	return nil
}

// newParts makes the simulation's parts: each simulates the teams
// o.parts apart and the queues they serve, with a fold of its own.
func newParts(loc *time.Location, first time.Time, o options) []*generator {
	var parts []*generator
	for i := range o.parts {
		parts = append(parts, newGenerator(loc, first, o, i))
	}
	return parts
}

func newGenerator(loc *time.Location, first time.Time, o options, part int) *generator {
	g := &generator{tenantID: "tenant", loc: loc, start: first, days: o.days, interactions: o.interactions,
		rng: rand.New(rand.NewPCG(2026, uint64(part))), arrivals: rand.New(rand.NewPCG(2026, 9))}
	pol := &simPolicy{loc: loc, sl: map[string]time.Duration{}}
	var w float64
	team := 0
	for pi := range plans {
		p := &plans[pi]
		teams := make([]int, p.teams)
		for i := range teams {
			teams[i] = team
			t := &teamSim{plan: p}
			for a := range 100 {
				n := team*100 + a
				// Shifts by share, spread evenly over the team.
				sh, acc := 0, 0.0
				for i, s := range shifts {
					acc += s.share
					if float64(a)+0.5 < acc*100 {
						sh = i
						break
					}
				}
				t.agents = append(t.agents, &agentSim{id: fmt.Sprintf("00000000-0000-7000-8000-%012d", n), team: team, shift: sh,
					free: make([]time.Time, p.slots)})
			}
			g.teams = append(g.teams, t)
			g.ownTeam = append(g.ownTeam, team%o.parts == part)
			team++
		}
		for q := range p.queues {
			id := fmt.Sprintf("q%02d", len(g.queues))
			qs := queueSim{q: &atende.Queue{ID: id, Name: fmt.Sprintf("%s %02d", p.ch, q+1), Channels: []atende.Channel{p.ch},
				SLTargetPct: 80, SLThresholdSec: p.sl}, plan: p, team: teams[q%len(teams)]}
			pol.sl[id] = time.Duration(p.sl) * time.Second
			// A few big queues and a long tail, within each channel.
			w += p.share / math.Sqrt(float64(q+1)) / harmonic(p.queues)
			g.queues = append(g.queues, qs)
			g.mine = append(g.mine, qs.team%o.parts == part)
			g.qWeights = append(g.qWeights, w)
		}
	}
	for i := range 20 {
		g.dispositions = append(g.dispositions, fmt.Sprintf("d%02d", i))
	}
	g.fold, _ = report.NewFold(pol, nil)
	g.weights()
	return g
}

func harmonic(n int) float64 {
	var s float64
	for i := range n {
		s += 1 / math.Sqrt(float64(i+1))
	}
	return s
}

// generate sets each store up and saves the simulated month's statistics
// into it.
func generate(ctx context.Context, o options, loc *time.Location, first time.Time, targets []*target) (summary, error) {
	parts := newParts(loc, first, o)
	for _, t := range targets {
		if t.dsn != "" {
			if err := adminExec(o.pg, `DROP DATABASE IF EXISTS `+pgDB+` WITH (FORCE)`); err != nil {
				return summary{}, err
			}
			if err := adminExec(o.pg, `CREATE DATABASE `+pgDB); err != nil {
				return summary{}, err
			}
		}
		// The first start makes the schema, the tenant and its administrator.
		srv, err := server.Start(ctx, server.Config{Bin: o.bin, Data: t.data, DB: t.dsn, Name: "reports-" + t.name})
		if err != nil {
			return summary{}, err
		}
		srv.Stop()
		if err := t.open(ctx, o.tz, parts[0]); err != nil {
			return summary{}, err
		}
		defer t.st.Close()
	}
	if o.cpuprofile != "" {
		f, err := os.Create(o.cpuprofile)
		if err != nil {
			return summary{}, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return summary{}, err
		}
		defer pprof.StopCPUProfile()
	}
	t0 := time.Now()
	save := func(rows map[report.Key]*report.Row) error {
		for _, t := range targets {
			if err := t.save(ctx, rows); err != nil {
				return fmt.Errorf("%s: save stats: %w", t.name, err)
			}
		}
		return nil
	}
	var ms runtime.MemStats
	st, err := month(ctx, parts, save, func(d int, st genStats, took time.Duration) {
		runtime.ReadMemStats(&ms)
		fmt.Printf("day %2d: %9d interactions so far (%d abandoned), %d events folded, %d rows saved; %v, heap %d MB\n",
			d+1, st.arrivals, st.abandoned, st.events, st.rows, took.Round(time.Millisecond), ms.HeapAlloc>>20)
	})
	if err != nil {
		return summary{}, err
	}
	sum := summary{Arrivals: st.arrivals, Handled: st.handled, Abandoned: st.abandoned, Events: st.events, Rows: st.rows,
		GenerateSec: time.Since(t0).Seconds(), From: first.Format(time.DateOnly), Days: o.days, TimeZone: o.tz, Interactions: o.interactions}
	for _, t := range targets {
		sum.Stores = append(sum.Stores, t.name)
	}
	fmt.Printf("generated %d interactions (%d handled, %d abandoned, %.1f %%), %d events folded, %d row deltas saved, in %.0f s\n",
		sum.Arrivals, sum.Handled, sum.Abandoned, 100*float64(sum.Abandoned)/float64(sum.Arrivals), sum.Events, sum.Rows, sum.GenerateSec)
	return sum, nil
}

// open opens the store in process, puts the tenant in the time zone and
// makes the simulation's queues and dispositions.
func (t *target) open(ctx context.Context, tz string, g *generator) error {
	st, err := store.Open(ctx, store.Config{DSN: t.dsn, DataDir: t.data})
	if err != nil {
		return err
	}
	t.st = st
	tenant, err := st.TenantBySlug(ctx, "default")
	if err != nil {
		return err
	}
	t.tenantID = tenant.ID
	sys := atende.SystemActor(tenant.ID)
	if _, err := st.UpdateTenant(ctx, sys, 0, func(tn *atende.Tenant) error { tn.TimeZone = tz; return nil }); err != nil {
		return err
	}
	t.ids = map[string]string{}
	for _, qs := range g.queues {
		q := *qs.q
		if err := st.CreateQueue(ctx, sys, &q); err != nil {
			return fmt.Errorf("create queue: %w", err)
		}
		t.ids[qs.q.ID] = q.ID
	}
	for i, id := range g.dispositions {
		d := &atende.Disposition{Code: fmt.Sprintf("code-%02d", i), Labels: map[string]string{"en": fmt.Sprintf("Outcome %02d", i)}, Active: true}
		if err := st.CreateDisposition(ctx, sys, d); err != nil {
			return fmt.Errorf("create disposition: %w", err)
		}
		t.ids[id] = d.ID
	}
	return nil
}

// save adds the fold's rows to the store with SaveStats, the aggregator's
// write, leaving the fold's progress where the server's own aggregator
// left it (the simulated events are not in the store's event log).
func (t *target) save(ctx context.Context, rows map[report.Key]*report.Row) error {
	out := make(map[report.Key]*report.Row, len(rows))
	for k, r := range rows {
		k.TenantID = t.tenantID
		if id, ok := t.ids[k.ID]; ok && (k.Dim == report.DimQueue || k.Dim == report.DimDisposition) {
			k.ID = id
		}
		out[k] = r
	}
	last, state, err := t.st.StatsProgress(ctx)
	if err != nil {
		return err
	}
	if state == nil {
		state = []byte(`{}`)
	}
	return t.st.SaveStats(ctx, last, last, state, out)
}

// withDB is the URL u naming database db.
func withDB(u, db string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	p.Path = "/" + db
	return p.String()
}

func adminExec(pg, stmt string) error {
	db, err := sql.Open("pgx", pg)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Exec(stmt); err != nil {
		return fmt.Errorf("%s: %w", stmt, err)
	}
	return nil
}

// request is one report request to time.
type request struct {
	name, query string
	csv         bool
}

func measure(ctx context.Context, o options, t *target, first, last time.Time, sum summary) error {
	rows, size, err := t.sizes(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("%s: interval_stats rows %s; database %.1f MB (interval_stats %.1f MB)\n", t.name, rows, float64(size[0])/1e6, float64(size[1])/1e6)
	if t.dsn != "" {
		// A past month has long been vacuumed and analysed by autovacuum;
		// do it now rather than measure whenever autovacuum gets to it.
		db, err := sql.Open("pgx", t.dsn)
		if err != nil {
			return err
		}
		_, err = db.ExecContext(ctx, `VACUUM (ANALYZE) interval_stats`)
		db.Close()
		if err != nil {
			return err
		}
		fmt.Printf("%s: VACUUM (ANALYZE) interval_stats done\n", t.name)
	}
	span := "from=" + first.Format(time.DateOnly) + "&to=" + last.Format(time.DateOnly)
	reqs := []request{
		{"interval_json", span + "&group=interval", false},
		{"day_json", span + "&group=day", false},
		{"interval_csv", span + "&group=interval&format=csv", true},
	}
	hc := &http.Client{Timeout: 5 * time.Minute}
	for _, rq := range reqs {
		// A fresh server per kind of request, so that its first one is cold.
		var args []string
		debug := ""
		if o.profile != "" && rq.name == "interval_json" {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			debug = ln.Addr().String()
			ln.Close()
			args = []string{"--debug-addr", debug}
		}
		srv, err := server.Start(ctx, server.Config{Bin: o.bin, Data: t.data, DB: t.dsn, Name: "reports-" + t.name, Args: args})
		if err != nil {
			return err
		}
		profiled := make(chan error, 1)
		if debug != "" {
			go func() { profiled <- saveProfile(ctx, "http://"+debug, o.profile+"-"+t.name+".pprof", 10*time.Second) }()
		} else {
			profiled <- nil
		}
		var lat []float64
		var bytes int
		var lines int
		var cpu0 float64
		for i := range o.n + 1 {
			if i == 1 {
				cpu0 = cpuSeconds(srv.PID())
			}
			d, body, err := get(ctx, hc, srv, "/api/v1/reports/queues?"+rq.query)
			if err != nil {
				srv.Stop()
				return err
			}
			lat = append(lat, float64(d.Microseconds())/1000)
			if i == 0 {
				bytes = len(body)
				if lines, err = check(body, rq.csv, sum); err != nil {
					srv.Stop()
					return fmt.Errorf("%s: %w", rq.name, err)
				}
			}
		}
		cpuPerReq := (cpuSeconds(srv.PID()) - cpu0) / float64(o.n) * 1000
		if err := <-profiled; err != nil {
			fmt.Fprintln(os.Stderr, "profile:", err)
		}
		srv.Stop()
		cold := lat[0]
		warm := slices.Clone(lat[1:])
		slices.Sort(warm)
		pct := func(p float64) float64 { return warm[min(len(warm)-1, int(math.Ceil(p*float64(len(warm))))-1)] }
		fmt.Printf("RESULT store=%s request=%s cold_ms=%.0f p50_ms=%.0f p90_ms=%.0f max_ms=%.0f server_cpu_ms=%.0f n=%d bytes=%d lines=%d\n",
			t.name, rq.name, cold, pct(0.5), pct(0.9), warm[len(warm)-1], cpuPerReq, len(warm), bytes, lines)
	}
	return nil
}

// cpuSeconds is the CPU time (user and system) process pid has used, from
// /proc (clock ticks of 1/100 s); the server's CPU per request is a figure
// that holds on a machine other work keeps busy, unlike its latency.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return math.NaN()
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return math.NaN()
	}
	var utime, stime float64
	fmt.Sscan(f[11], &utime)
	fmt.Sscan(f[12], &stime)
	return (utime + stime) / 100
}

// saveProfile writes the server's CPU profile over d to path.
func saveProfile(ctx context.Context, base, path string, d time.Duration) error {
	req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, int(d.Seconds())), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	fmt.Printf("CPU profile of the server in %s\n", path)
	return os.WriteFile(path, b, 0o640)
}

func get(ctx context.Context, hc *http.Client, srv *server.Server, path string) (time.Duration, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+path, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	t0 := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	d := time.Since(t0)
	if err != nil {
		return 0, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, nil, fmt.Errorf("GET %s: %s %.300s", path, resp.Status, body)
	}
	return d, body, nil
}

// check compares the report with the simulation's counts and returns its
// number of lines.
func check(body []byte, csv bool, sum summary) (int, error) {
	if csv {
		n := strings.Count(string(body), "\n") - 1 // the header
		return n, nil
	}
	var out struct {
		Lines  []json.RawMessage `json:"lines"`
		Totals []struct {
			ID        string `json:"id"`
			Offered   int64  `json:"offered"`
			Handled   int64  `json:"handled"`
			Abandoned int64  `json:"abandoned"`
		} `json:"totals"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return 0, err
	}
	if len(out.Totals) == 0 {
		return 0, errors.New("no totals")
	}
	all := out.Totals[len(out.Totals)-1]
	if all.ID != "" || all.Offered != sum.Arrivals || all.Handled != sum.Handled || all.Abandoned != sum.Abandoned {
		return 0, fmt.Errorf("report totals offered %d handled %d abandoned %d; simulated %d, %d, %d",
			all.Offered, all.Handled, all.Abandoned, sum.Arrivals, sum.Handled, sum.Abandoned)
	}
	return len(out.Lines), nil
}

// sizes reads the rows per dimension and the database's size.
func (t *target) sizes(ctx context.Context) (string, [2]int64, error) {
	var db *sql.DB
	var err error
	var size [2]int64
	if t.dsn == "" {
		path := filepath.Join(t.data, "atende.db")
		for _, suffix := range []string{"", "-wal"} {
			if fi, err := os.Stat(path + suffix); err == nil {
				size[0] += fi.Size()
			}
		}
		db, err = sql.Open("sqlite", "file:"+path+"?mode=ro")
	} else {
		db, err = sql.Open("pgx", t.dsn)
	}
	if err != nil {
		return "", size, err
	}
	defer db.Close()
	if t.dsn == "" {
		err = db.QueryRowContext(ctx, `SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'interval_stats%' OR name LIKE 'sqlite_autoindex_interval_stats%'`).Scan(&size[1])
		if err != nil {
			size[1] = -1 // dbstat not compiled in
		}
	} else {
		if err := db.QueryRowContext(ctx, `SELECT pg_database_size(current_database()), pg_total_relation_size('interval_stats')`).Scan(&size[0], &size[1]); err != nil {
			return "", size, err
		}
	}
	rs, err := db.QueryContext(ctx, `SELECT dimension, COUNT(*) FROM interval_stats GROUP BY dimension ORDER BY dimension`)
	if err != nil {
		return "", size, err
	}
	defer rs.Close()
	var parts []string
	var total int64
	for rs.Next() {
		var dim string
		var n int64
		if err := rs.Scan(&dim, &n); err != nil {
			return "", size, err
		}
		total += n
		parts = append(parts, fmt.Sprintf("%s=%d", dim, n))
	}
	return fmt.Sprintf("%d (%s)", total, strings.Join(parts, " ")), size, rs.Err()
}
