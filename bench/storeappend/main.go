// Command storeappend measures the store's AppendMessage alone, in process,
// without HTTP: C goroutines append messages with unique client_ids to a set
// of conversations for a while. Comparing its figures with appendload's tells
// how much of an HTTP append is the store (and its commit), and -cpuprofile
// shows where the store's CPU time goes (go tool pprof).
//
//	go run ./bench/storeappend -c 16 -d 5s                 # SQLite in a temporary directory
//	go run ./bench/storeappend -db postgres://...          # a PostgreSQL database (migrated)
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sync"
	"time"

	"github.com/atende/atende"
	"github.com/atende/atende/internal/store"
)

func main() {
	db := flag.String("db", "", "database `DSN` (default: SQLite in a fresh temporary directory)")
	c := flag.Int("c", 16, "concurrent appenders")
	d := flag.Duration("d", 5*time.Second, "duration")
	convs := flag.Int("conversations", 100, "conversations to spread the appends over")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to `file`")
	flag.Parse()
	if err := run(*db, *c, *d, *convs, *cpuprofile); err != nil {
		fmt.Fprintln(os.Stderr, "storeappend:", err)
		os.Exit(1)
	}
}

func run(dsn string, clients int, d time.Duration, nconv int, cpuprofile string) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "storeappend-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(ctx, store.Config{DSN: dsn, DataDir: filepath.Join(dir, "data")})
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	suffix := fmt.Sprintf("%d", time.Now().UnixNano()%1e9)
	tenant := &atende.Tenant{Name: "Bench " + suffix, Slug: "bench-" + suffix, Locale: "en-US", TimeZone: "UTC"}
	if err := st.CreateTenant(ctx, atende.SystemActor(""), tenant); err != nil {
		return fmt.Errorf("create tenant: %w", err)
	}
	user := &atende.User{Email: "bench-" + suffix + "@example.com", Name: "Bench", Roles: []atende.Role{atende.RoleAdmin}, Active: true}
	if err := st.CreateUser(ctx, atende.SystemActor(tenant.ID), user, "bench-password-"+suffix); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	actor := atende.Actor{TenantID: tenant.ID, UserID: user.ID, Kind: "token", Name: "storeappend", IP: "127.0.0.1"}
	ids := make([]string, nconv)
	for i := range ids {
		ct, _, err := st.FindOrCreateContact(ctx, actor, atende.Identity{Kind: atende.IdentityPhone, Value: fmt.Sprintf("+346%08d", 10000000+i)}, "")
		if err != nil {
			return fmt.Errorf("create contact: %w", err)
		}
		conv := &atende.Conversation{ContactID: ct.ID, Channel: atende.Channel("chat"), Subject: "storeappend"}
		if err := st.CreateConversation(ctx, actor, conv, nil); err != nil {
			return fmt.Errorf("create conversation: %w", err)
		}
		ids[i] = conv.ID
	}

	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		all []time.Duration
		bad error
	)
	body := string(make([]byte, 0, 120)) + "load test message body of a typical chat line, about one hundred and twenty bytes long......."
	start := time.Now()
	end := start.Add(d)
	for w := range clients {
		wg.Go(func() {
			var lat []time.Duration
			for n := 0; time.Now().Before(end); n++ {
				e := &atende.TimelineEvent{Kind: atende.KindMessage, Channel: atende.Channel("chat"), Direction: atende.DirectionIn,
					Body: body, ClientID: fmt.Sprintf("s-%d-%d", w, n)}
				t := time.Now()
				if _, _, err := st.AppendMessage(ctx, actor, ids[(w*7919+n)%len(ids)], e); err != nil {
					mu.Lock()
					bad = err
					mu.Unlock()
					return
				}
				lat = append(lat, time.Since(t))
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if bad != nil {
		return bad
	}
	slices.Sort(all)
	p := func(q float64) float64 {
		i := int(math.Ceil(q*float64(len(all)))) - 1
		return float64(all[max(i, 0)]) / float64(time.Millisecond)
	}
	fmt.Printf("store %s, %d appenders: %d appends in %.2f s = %.0f/s; p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		st.Dialect(), clients, len(all), elapsed.Seconds(), float64(len(all))/elapsed.Seconds(), p(.5), p(.95), p(.99), p(1))
	return nil
}
