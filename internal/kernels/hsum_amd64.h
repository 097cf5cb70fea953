// Sum of the eight int32 lanes of Y0, in lane 0 of X0 (X1 is clobbered).
#define HSUM_I32 \
	VEXTRACTI128 $1, Y0, X1;   \
	VPADDD       X1, X0, X0;   \
	VPSHUFD      $0x4e, X0, X1; \
	VPADDD       X1, X0, X0;   \
	VPSHUFD      $0xb1, X0, X1; \
	VPADDD       X1, X0, X0
