package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics live in a registry of their own rather than the global one, so
// several servers (tests) in one process do not collide.
type metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	promptTokens prometheus.Counter
	genTokens    prometheus.Counter
	ttft         prometheus.Histogram
	itl          prometheus.Histogram
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bitnet_http_requests_total", Help: "HTTP requests by route and status code.",
	}, []string{"route", "code"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "bitnet_http_request_duration_seconds", Help: "Time to answer an HTTP request, streams included.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
	}, []string{"route"})
	m.promptTokens = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "bitnet_prompt_tokens_total", Help: "Prompt tokens of completed requests.",
	})
	m.genTokens = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "bitnet_generated_tokens_total", Help: "Tokens generated, counted as they are streamed.",
	})
	m.ttft = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "bitnet_time_to_first_token_seconds", Help: "From a request's arrival to its first generated token, queueing included.",
		Buckets: prometheus.ExponentialBuckets(0.002, 2, 14),
	})
	m.itl = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "bitnet_time_per_output_token_seconds", Help: "Time between consecutive tokens of one sequence.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	})
	m.reg.MustRegister(m.requests, m.duration, m.promptTokens, m.genTokens, m.ttft, m.itl,
		&engineCollector{s: s},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *metrics) request(route string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// engineCollector reads the engine's gauges at scrape time, so they are
// never stale and cost nothing between scrapes.
type engineCollector struct{ s *Server }

var (
	descQueue    = prometheus.NewDesc("bitnet_queue_depth", "Requests waiting for a slot.", []string{"model"}, nil)
	descBusy     = prometheus.NewDesc("bitnet_busy_slots", "Sequences being generated.", []string{"model"}, nil)
	descSlots    = prometheus.NewDesc("bitnet_slots", "Sequences that can be generated together.", []string{"model"}, nil)
	descKV       = prometheus.NewDesc("bitnet_kv_cache_bytes", "Memory held by the KV caches of running sequences.", []string{"model"}, nil)
	descMapped   = prometheus.NewDesc("bitnet_model_mapped_bytes", "Weight files mapped in memory.", []string{"model"}, nil)
	descWeights  = prometheus.NewDesc("bitnet_model_heap_bytes", "Weights repacked onto the heap.", []string{"model"}, nil)
	descInFlight = prometheus.NewDesc("bitnet_requests_in_flight", "Generation requests being answered.", nil, nil)
	descDraining = prometheus.NewDesc("bitnet_draining", "1 while the server is shutting down.", nil, nil)
)

func (c *engineCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descQueue, descBusy, descSlots, descKV, descMapped, descWeights, descInFlight, descDraining} {
		ch <- d
	}
}

func (c *engineCollector) Collect(ch chan<- prometheus.Metric) {
	g := prometheus.GaugeValue
	if st, ok := c.s.model.Stats(); ok {
		name := c.s.name
		ch <- prometheus.MustNewConstMetric(descQueue, g, float64(st.Queued), name)
		ch <- prometheus.MustNewConstMetric(descBusy, g, float64(st.Busy), name)
		ch <- prometheus.MustNewConstMetric(descSlots, g, float64(st.Slots), name)
		ch <- prometheus.MustNewConstMetric(descKV, g, float64(st.KVCacheBytes), name)
		ch <- prometheus.MustNewConstMetric(descMapped, g, float64(st.MappedBytes), name)
		ch <- prometheus.MustNewConstMetric(descWeights, g, float64(st.HeapBytes), name)
	}
	ch <- prometheus.MustNewConstMetric(descInFlight, g, float64(c.s.inFlight.Load()))
	draining := 0.0
	if c.s.draining.Load() {
		draining = 1
	}
	ch <- prometheus.MustNewConstMetric(descDraining, g, draining)
}
