//go:build !noasm

package kernels

//go:noescape
func gemvI2S4VNNI(acc *int32, w *byte, stride, quads int, x *int8, nb int, pf int)

//go:noescape
func gemmI2S4x4VNNI(acc *int32, lda int, w *byte, stride, quads int, x *int8, ldx, nb int)

// vnniRows is how many weight rows one call of the VNNI kernels covers: the
// integer sums go through a stack buffer of this many rows per activation
// row before the float epilogue.
const vnniRows = 256

// gemmI2SVNNIGo is GemmI2S at the AVX512 level. The assembly returns exact
// integer sums; the epilogue here is the generic one, so results are
// bit-identical to every other level. Activation rows beyond a multiple of
// four go through the decode kernel; weight rows beyond a multiple of four
// through the AVX2 kernels.
func gemmI2SVNNIGo(dst []float32, ldd int, w []byte, stride, rows int, x []int8, ldx, n int, sums []int32, scales []float32, wscale float32) {
	nb, ok := gemmI2SChecked(dst, ldd, w, stride, rows, x, ldx, n, sums, scales, wscale)
	if !ok {
		return
	}

	rows4 := rows &^ 3
	var acc [4 * vnniRows]int32
	epilogue := func(i, r0, rb int, a []int32) {
		d := dst[i*ldd+r0 : i*ldd+r0+rb]
		s, c := float32(sums[i]), scales[i]
		for j, v := range a[:rb] {
			d[j] = (float32(v) - s) / c * wscale
		}
	}
	n4 := 0
	if n >= 4 {
		// Row blocks that stay in L2 while the groups of four activation
		// rows sweep them.
		n4 = n &^ 3
		block := min(vnniRows, max(4, gemmBlockBytes/stride&^3))
		for r0 := 0; r0 < rows4; r0 += block {
			rb := min(block, rows4-r0)
			for i := 0; i < n4; i += 4 {
				gemmI2S4x4VNNI(&acc[0], vnniRows, &w[r0*stride], stride, rb/4, &x[i*ldx], ldx, nb)
				for t := 0; t < 4; t++ {
					epilogue(i+t, r0, rb, acc[t*vnniRows:])
				}
			}
		}
	}
	for i := n4; i < n; i++ {
		for r0 := 0; r0 < rows4; r0 += vnniRows {
			rb := min(vnniRows, rows4-r0)
			gemvI2S4VNNI(&acc[0], &w[r0*stride], stride, rb/4, &x[i*ldx], nb, gemvPrefetch(stride))
			epilogue(i, r0, rb, acc[:])
		}
	}
	if rows4 < rows {
		gemmI2SAVX2Go(dst[rows4:], ldd, w[rows4*stride:], stride, rows-rows4, x, ldx, n, sums, scales, wscale)
	}
}
