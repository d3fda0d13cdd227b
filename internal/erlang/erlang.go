// Package erlang computes the classic queueing formulas contact centers staff
// with: Erlang B (blocking), Erlang C (waiting, M/M/N) and the service level,
// average speed of answer and occupancy that follow from them.
//
// The sums are computed with the Erlang B recursion, which stays stable for
// thousands of agents where the textbook factorials overflow (REFERENCE.md,
// "Erlang C").
package erlang

import (
	"errors"
	"math"
)

// ErrUnstable is returned when the offered traffic is not below the number of
// agents: the queue would grow without bound.
var ErrUnstable = errors.New("erlang: traffic must be lower than the number of agents")

// B returns the Erlang B blocking probability for traffic a (Erlangs) offered
// to n servers: B(0)=1, B(k) = a·B(k−1) / (k + a·B(k−1)).
func B(a float64, n int) float64 {
	b := 1.0
	for k := 1; k <= n; k++ {
		b = a * b / (float64(k) + a*b)
	}
	return b
}

// C returns the Erlang C probability that a contact waits, for traffic a
// (Erlangs) and n agents: C = n·B / (n − a·(1 − B)).
func C(a float64, n int) (float64, error) {
	if a < 0 || math.IsNaN(a) || math.IsInf(a, 0) {
		return 0, errors.New("erlang: traffic must be a finite, non-negative number")
	}
	if float64(n) <= a {
		return 1, ErrUnstable
	}
	b := B(a, n)
	return float64(n) * b / (float64(n) - a*(1-b)), nil
}

// Queue describes one M/M/N queue: arrivals per second, average handle time
// in seconds and agents.
type Queue struct {
	ArrivalRate float64 // contacts per second
	AHT         float64 // seconds
	Agents      int
}

// Result is what Erlang C predicts for a queue.
type Result struct {
	Traffic      float64 // Erlangs: ArrivalRate × AHT
	PWait        float64 // probability a contact waits at all
	ServiceLevel float64 // share answered within the threshold
	ASA          float64 // average speed of answer, seconds
	Occupancy    float64 // traffic / agents
}

// Solve computes Erlang C's predictions with a service-level threshold in
// seconds: SL(t) = 1 − P(wait)·e^(−(N−A)·t/AHT), ASA = P(wait)·AHT/(N−A).
func Solve(q Queue, threshold float64) (Result, error) {
	if q.AHT <= 0 || q.ArrivalRate < 0 || q.Agents < 1 || threshold < 0 {
		return Result{}, errors.New("erlang: need AHT > 0, arrival rate ≥ 0, agents ≥ 1, threshold ≥ 0")
	}
	a := q.ArrivalRate * q.AHT
	pw, err := C(a, q.Agents)
	if err != nil {
		return Result{Traffic: a, PWait: 1, Occupancy: 1}, err
	}
	n := float64(q.Agents)
	return Result{
		Traffic:      a,
		PWait:        pw,
		ServiceLevel: 1 - pw*math.Exp(-(n-a)*threshold/q.AHT),
		ASA:          pw * q.AHT / (n - a),
		Occupancy:    a / n,
	}, nil
}

// AgentsFor returns the fewest agents that reach the service level target
// (0-1) within threshold seconds, with its predictions.
func AgentsFor(arrivalRate, aht, threshold, target float64) (int, Result, error) {
	if target <= 0 || target >= 1 {
		return 0, Result{}, errors.New("erlang: target must be between 0 and 1")
	}
	a := arrivalRate * aht
	for n := max(1, int(math.Floor(a))+1); n < int(a)+100000; n++ {
		r, err := Solve(Queue{ArrivalRate: arrivalRate, AHT: aht, Agents: n}, threshold)
		if err != nil {
			if errors.Is(err, ErrUnstable) {
				continue
			}
			return 0, Result{}, err
		}
		if r.ServiceLevel >= target {
			return n, r, nil
		}
	}
	return 0, Result{}, errors.New("erlang: no staffing reaches the target")
}
