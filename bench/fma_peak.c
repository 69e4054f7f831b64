// The machine's float32 FMA ceiling: 12 independent AVX-512 FMA chains per thread, 1 and 2 threads.
// Build and run: gcc -O2 -mavx512f -mfma bench/fma_peak.c -o /tmp/fma_peak -lpthread && /tmp/fma_peak
//
// Corrected copy of /work/shared/bench/fma_peak.c. That version starts all 12 chains from the same value with the
// same multiplier and addend, so GCC (-O2) proves them equal, keeps ONE chain (one vfmadd per loop iteration, see
// `objdump -d`) and the printed figure counts 12 FMAs for each latency-bound one: it reports ~1.5x the real peak.
// Here every chain starts from a different value and the result is kept (volatile sink): the loop has 12 vfmadd.
#include <immintrin.h>
#include <stdio.h>
#include <time.h>
#include <pthread.h>
#define N 400000000L
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static volatile float sink[2]; // volatile: the result is used, so the chains are not dead code
static void* run(void* arg){
  long id = (long)arg;
  __m512 x[12];
  for (int i = 0; i < 12; i++) x[i] = _mm512_set1_ps(1.0f + 0.001f * i + 0.01f * id);
  __m512 m = _mm512_set1_ps(0.9999999f), b = _mm512_set1_ps(1e-7f);
  for (long i = 0; i < N / 12; i++) {
    #pragma GCC unroll 12
    for (int j = 0; j < 12; j++) x[j] = _mm512_fmadd_ps(x[j], m, b);
  }
  __m512 s = x[0];
  for (int i = 1; i < 12; i++) s = _mm512_add_ps(s, x[i]);
  sink[id] = _mm512_reduce_add_ps(s);
  return 0;
}
int main(void){
  for (int th = 1; th <= 2; th++) {
    pthread_t t[2];
    double s = now();
    for (long i = 0; i < th; i++) pthread_create(&t[i], 0, run, (void*)i);
    for (int i = 0; i < th; i++) pthread_join(t[i], 0);
    double e = now() - s;
    printf("threads=%d GFLOPS=%.1f\n", th, th * (double)(N / 12 * 12) * 16 * 2 / e / 1e9);
  }
  return 0;
}
