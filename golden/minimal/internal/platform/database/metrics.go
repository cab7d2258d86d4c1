package database

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// PoolCollector exports the pool's statistics, read from pool.Stat() at
// scrape time, as the db_pool_* series. Saturation shows as acquired
// connections near max_connections and a growing acquire wait.
type PoolCollector struct {
	pool *pgxpool.Pool
}

// NewPoolCollector returns the collector of pool; register it with the
// application's registry.
func NewPoolCollector(pool *pgxpool.Pool) *PoolCollector { return &PoolCollector{pool: pool} }

var (
	poolAcquired   = prometheus.NewDesc("db_pool_acquired_connections", "Connections of the pool in use by the application.", nil, nil)
	poolIdle       = prometheus.NewDesc("db_pool_idle_connections", "Idle connections of the pool.", nil, nil)
	poolTotal      = prometheus.NewDesc("db_pool_total_connections", "Connections of the pool: acquired, idle and being opened.", nil, nil)
	poolMax        = prometheus.NewDesc("db_pool_max_connections", "Most connections the pool opens (DATABASE_MAX_CONNS).", nil, nil)
	poolWait       = prometheus.NewDesc("db_pool_acquire_wait_seconds_total", "Time spent waiting for a connection because none was idle.", nil, nil)
	poolEmptyTotal = prometheus.NewDesc("db_pool_empty_acquires_total", "Acquires that had to wait because the pool had no idle connection.", nil, nil)
)

// Describe implements prometheus.Collector.
func (c *PoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolAcquired, poolIdle, poolTotal, poolMax, poolWait, poolEmptyTotal} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *PoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	ch <- prometheus.MustNewConstMetric(poolAcquired, prometheus.GaugeValue, float64(s.AcquiredConns()))
	ch <- prometheus.MustNewConstMetric(poolIdle, prometheus.GaugeValue, float64(s.IdleConns()))
	ch <- prometheus.MustNewConstMetric(poolTotal, prometheus.GaugeValue, float64(s.TotalConns()))
	ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(s.MaxConns()))
	ch <- prometheus.MustNewConstMetric(poolWait, prometheus.CounterValue, s.EmptyAcquireWaitTime().Seconds())
	ch <- prometheus.MustNewConstMetric(poolEmptyTotal, prometheus.CounterValue, float64(s.EmptyAcquireCount()))
}
