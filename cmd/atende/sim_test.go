package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs atende in-process and returns its exit status and output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c := &cli{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	code := c.run(context.Background(), args)
	return code, stdout.String(), stderr.String()
}

const plannerExample = "../../docs/examples/sim-planner-40.json"

func TestSimPrintsTheTableAndWritesResults(t *testing.T) {
	dir := t.TempDir()
	out, js, arrivals := filepath.Join(dir, "r.csv"), filepath.Join(dir, "r.json"), filepath.Join(dir, "a.csv")
	code, stdout, stderr := runCLI(t, "sim", "-config", plannerExample, "-seed", "3", "-interval", "60",
		"-out", out, "-json", js, "-arrivals-out", arrivals)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"seed 3", "queue ", "Support", "Sales", "total", "occupancy %", "early", "SL = answered within T"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 4 || rows[0][0] != "interval_start" || rows[1][1] != "Support" || rows[3][1] != "total" || len(rows) < 10 {
		t.Errorf("results CSV:\n%v", rows[:min(len(rows), 5)])
	}
	var res struct {
		Seed   uint64 `json:"seed"`
		Queues []struct {
			Queue   string `json:"queue"`
			Offered int    `json:"offered"`
		} `json:"queues"`
	}
	b, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &res); err != nil || res.Seed != 3 || len(res.Queues) != 2 || res.Queues[0].Offered == 0 {
		t.Fatalf("results JSON (%v): %s", err, b[:min(len(b), 300)])
	}

	// The recorded arrivals replay the same day.
	code, replay, stderr := runCLI(t, "sim", "-config", plannerExample, "-seed", "3", "-csv", arrivals)
	if code != 0 {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	table := func(s string) string { return s[strings.Index(s, "\n\n"):] }
	if table(replay) != table(stdout) {
		t.Errorf("the replayed arrivals give another day:\n%s\n---\n%s", replay, stdout)
	}
}

func TestSimSameSeedSameOutput(t *testing.T) {
	strip := func(s string) string { // the first line says how long the run took
		return s[strings.Index(s, "\n"):]
	}
	_, a, _ := runCLI(t, "sim", "-config", plannerExample, "-seed", "9")
	_, b, _ := runCLI(t, "sim", "-config", plannerExample, "-seed", "9")
	if strip(a) != strip(b) {
		t.Fatalf("same seed, different output:\n%s\n---\n%s", a, b)
	}
}

func TestSimUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"queues": [], "agents": []}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sim"}, 2, "-config is required"},
		{[]string{"sim", "-config", plannerExample, "-days", "0"}, 2, "-days"},
		{[]string{"sim", "-config", filepath.Join(dir, "missing.json")}, 1, "missing.json"},
		{[]string{"sim", "-config", bad}, 1, "queues"},
		{[]string{"sim", "-config", plannerExample, "-csv", filepath.Join(dir, "none.csv")}, 1, "none.csv"},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", c.args, code, stderr, c.code, c.want)
		}
	}
	code, stdout, _ := runCLI(t, "sim", "--help")
	if code != 0 || !strings.Contains(stdout, "--arrivals-out") || !strings.Contains(stdout, "docs/simulator.md") {
		t.Errorf("help: exit %d:\n%s", code, stdout)
	}
}
