package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/atende/atende/internal/sim"
)

const simUsage = `Usage: atende sim -config FILE [flags]

Simulates a contact center on a virtual clock with the real routing engine:
queues with their traffic, agents with skills and shifts, for one or more
days, and prints each queue's KPIs (service level, abandons, ASA, AHT,
longest wait) and each agent group's occupancy. The configuration (JSON, or
TOML when the name ends in .toml) is described in docs/simulator.md.

To compare two configurations on the same traffic, run both with the same
--seed (and the same --csv, if any): every queue draws its customers from its
own random stream, so only the configuration differs.

Flags:
  --config FILE         the simulation: queues, traffic, agents, shifts (required)
  --csv FILE            replay these arrivals instead of the queues' Poisson traffic;
                        columns time,queue[,channel,handle_time_sec,patience_sec]
  --seed N              random seed (default: the configuration's)
  --days N              days to simulate (default: the configuration's, or 1)
  --interval MIN        also report each queue per interval of MIN minutes (e.g. 15)
                        in --out and --json
  --out FILE            write per-queue results as CSV
  --json FILE           write the full results as JSON
  --arrivals-out FILE   write the arrivals simulated, with the handle time and
                        patience each drew, as a CSV to replay with --csv
`

func (c *cli) sim(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("atende sim", flag.ContinueOnError)
	configPath := fs.String("config", "", "the simulation: queues, traffic, agents (JSON or TOML)")
	csvPath := fs.String("csv", "", "replay these arrivals (CSV: time,queue,channel,handle_time_sec,patience_sec) instead of the queues' Poisson traffic")
	seed := fs.Uint64("seed", 0, "random seed (default: the configuration's)")
	days := fs.Int("days", 0, "days to simulate (default: the configuration's, or 1)")
	interval := fs.Int("interval", 0, "also report each queue per interval of this many minutes (e.g. 15) in -out and -json")
	out := fs.String("out", "", "write per-queue results as CSV to this file")
	jsonOut := fs.String("json", "", "write the full results as JSON to this file")
	arrivalsOut := fs.String("arrivals-out", "", "write the simulated arrivals, with the handle times and patience drawn, as a CSV to replay with -csv")
	if err := c.parseFlags(fs, args, func(w io.Writer) {
		fmt.Fprint(w, simUsage)
	}); err != nil {
		return err
	}
	if *configPath == "" {
		return usagef("--config is required (see 'atende sim --help')")
	}
	cfg, err := sim.LoadConfig(*configPath)
	if err != nil {
		return fmt.Errorf("read configuration: %w", err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["seed"] {
		cfg.Seed = *seed
	}
	if set["days"] {
		if *days < 1 {
			return usagef("--days must be at least 1")
		}
		cfg.Days, cfg.Duration = *days, 0
	}
	if set["interval"] {
		cfg.IntervalMin = *interval
	}
	if *csvPath != "" {
		loc := time.UTC
		if cfg.TimeZone != "" {
			if loc, err = time.LoadLocation(cfg.TimeZone); err != nil {
				return fmt.Errorf("read configuration %s: time_zone: %w", *configPath, err)
			}
		}
		f, err := os.Open(*csvPath)
		if err != nil {
			return fmt.Errorf("read arrivals: %w", err)
		}
		cfg.Arrivals, err = sim.ReadArrivals(f, loc)
		f.Close()
		if err != nil {
			return fmt.Errorf("read arrivals %s: %w", *csvPath, err)
		}
		if len(cfg.Arrivals) == 0 {
			return fmt.Errorf("read arrivals %s: no arrivals in the file", *csvPath)
		}
	}

	began := time.Now()
	res, arrivals, err := sim.RunRecorded(cfg)
	if err != nil {
		return fmt.Errorf("simulate %s: %w", *configPath, err)
	}
	took := time.Since(began)

	name := res.Name
	if name == "" {
		name = *configPath
	}
	fmt.Fprintf(c.stdout, "%s: %s to %s, seed %d, %d tasks (simulated in %s)\n\n", name,
		res.Start.Format("2006-01-02 15:04 MST"), res.End.Format("2006-01-02 15:04 MST"), res.Seed, res.Tasks, took.Round(time.Millisecond))
	if res.ReplayIgnored > 0 {
		fmt.Fprintf(c.stdout, "%d replayed arrivals after the end of the run were left out (see --days).\n\n", res.ReplayIgnored)
	}
	if err := res.WriteTable(c.stdout); err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, "\nSL = answered within T / (offered − short abandons); abandon % excludes short abandons;\n"+
		"other = voicemail, rejected or still waiting at the end; AHT = talk + wrap-up.")
	write := func(path string, f func(io.Writer) error) error {
		if path == "" {
			return nil
		}
		w, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := f(w); err != nil {
			w.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
		return w.Close()
	}
	if err := write(*out, res.WriteCSV); err != nil {
		return err
	}
	if err := write(*jsonOut, res.WriteJSON); err != nil {
		return err
	}
	return write(*arrivalsOut, func(w io.Writer) error { return sim.WriteArrivals(w, arrivals) })
}
