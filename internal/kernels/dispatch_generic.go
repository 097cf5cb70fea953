//go:build noasm || !(amd64 || arm64)

package kernels

// Pure-Go build: the noasm tag, or an architecture without kernels.

func detect() Level          { return Generic }
func supported(l Level) bool { return l == Generic }
func install(l Level)        {}
func dotProdAvailable() bool { return false }

// prefetch is a hint; the pure-Go build has none to give.
func prefetch(p *uint16, n int) {}
