package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gantry-ci/gantry/queue"
	"github.com/gantry-ci/gantry/store"
)

// ciCollector reports the CI state at scrape time from the database and
// the queue: jobs by status, queue depth, runner contact and long-poll
// waiters. Reading at scrape time keeps counters exact across restarts.
type ciCollector struct {
	store *store.Store
	queue *queue.Queue

	jobs, depth, waiters, contact *prometheus.Desc
}

func newCICollector(s *store.Store, q *queue.Queue) *ciCollector {
	return &ciCollector{store: s, queue: q,
		jobs:    prometheus.NewDesc("gantry_ci_jobs", "Jobs by status (latest attempts).", []string{"status"}, nil),
		depth:   prometheus.NewDesc("gantry_ci_queue_depth", "Pending jobs no runner has taken yet.", nil, nil),
		waiters: prometheus.NewDesc("gantry_ci_long_poll_waiters", "Runner job requests held in a long poll.", nil, nil),
		contact: prometheus.NewDesc("gantry_ci_runner_last_contact_seconds", "Seconds since each runner last called.", []string{"runner"}, nil),
	}
}

func (c *ciCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.jobs
	ch <- c.depth
	ch <- c.waiters
	ch <- c.contact
}

func (c *ciCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if counts, err := c.store.JobCounts(ctx); err == nil {
		for status, n := range counts {
			ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(n), status)
		}
	}
	if n, err := c.store.QueueDepth(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(n))
	}
	ch <- prometheus.MustNewConstMetric(c.waiters, prometheus.GaugeValue, float64(c.queue.Waiting()))
	if runners, _, err := c.store.ListRunners(ctx, store.RunnerFilter{}, store.Page{Size: 10000}); err == nil {
		for _, r := range runners {
			if !r.ContactedAt.IsZero() {
				ch <- prometheus.MustNewConstMetric(c.contact, prometheus.GaugeValue, time.Since(r.ContactedAt).Seconds(), itoa(r.ID))
			}
		}
	}
}
