/* matmul - dense double-precision matrix multiply: matmul [N]  (default 1100)
 * C = A x B for N x N matrices with deterministic contents, then prints
 * checksums of C.  B is transposed first so that each C[i][j] is a dot
 * product of two rows read sequentially.  Each dot product is summed in k
 * order, which compilers may not reorder without -ffast-math, and neither
 * side uses fused multiply-add, so native and WebAssembly results are
 * bit-for-bit identical.  (That also keeps the native build scalar, as the
 * WebAssembly one is without SIMD: the comparison is of code generation.) */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 1100;
	if (n < 1 || n > 4096) {
		fprintf(stderr, "matmul: N must be 1..4096\n");
		return 2;
	}
	size_t nn = (size_t)n * (size_t)n;
	double *a = malloc(nn * sizeof *a);
	double *b = malloc(nn * sizeof *b);
	double *c = malloc(nn * sizeof *c);
	if (!a || !b || !c) {
		fprintf(stderr, "matmul: out of memory for N=%ld\n", n);
		return 1;
	}
	for (long i = 0; i < n; i++)
		for (long j = 0; j < n; j++) {
			a[i * n + j] = (double)((i * 31 + j * 17) % 101) / 101.0 - 0.5;
			b[i * n + j] = (double)((i * 13 + j * 29 + 7) % 97) / 97.0 - 0.5;
		}
	/* b becomes B transposed, in place. */
	for (long i = 0; i < n; i++)
		for (long j = i + 1; j < n; j++) {
			double t = b[i * n + j];
			b[i * n + j] = b[j * n + i];
			b[j * n + i] = t;
		}
	for (long i = 0; i < n; i++) {
		const double *ai = a + i * n;
		for (long j = 0; j < n; j++) {
			const double *bj = b + j * n;
			double s = 0;
			for (long k = 0; k < n; k++)
				s += ai[k] * bj[k];
			c[i * n + j] = s;
		}
	}
	double sum = 0, weighted = 0;
	for (size_t i = 0; i < nn; i++) {
		sum += c[i];
		weighted += c[i] * (double)(i % 7 + 1);
	}
	printf("matmul n=%ld sum=%.6f weighted=%.6f c[0]=%.12f c[last]=%.12f\n", n, sum, weighted,
	       c[0], c[nn - 1]);
	free(a);
	free(b);
	free(c);
	return 0;
}
