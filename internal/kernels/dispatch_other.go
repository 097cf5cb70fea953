package kernels

// Until the assembly kernels land every platform runs the generic code.

func detect() Level          { return Generic }
func supported(l Level) bool { return l == Generic }
func install(l Level)        {}
