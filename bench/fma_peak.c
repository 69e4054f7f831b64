// The machine's float32 FMA ceiling: 12 independent FMA chains per thread, 1 and 2 threads, at the vector width it is
// built for: AVX-512 (16 floats) or AVX2 (8 floats), so the peak matches the code it is compared with.
//   AVX-512: gcc -O2 -mavx512f -mfma bench/fma_peak.c -o /tmp/fma_peak -lpthread && /tmp/fma_peak
//   AVX2:    gcc -O2 -mavx2 -mfma bench/fma_peak.c -o /tmp/fma_peak_avx2 -lpthread && /tmp/fma_peak_avx2
//
// Corrected copy of /work/shared/bench/fma_peak.c. That version starts all 12 chains from the same value with the
// same multiplier and addend, so GCC (-O2) proves them equal, keeps ONE chain (one vfmadd per loop iteration, see
// `objdump -d`) and the printed figure counts 12 FMAs for each latency-bound one: it reports ~1.5x the real peak.
// Here every chain starts from a different value and the result is kept (volatile sink): the loop has 12 vfmadd.
#include <immintrin.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#ifdef __AVX512F__
typedef __m512 vec;
#define LANES 16
#define SET1 _mm512_set1_ps
#define FMADD _mm512_fmadd_ps
#define ADD _mm512_add_ps
#define WIDTH "avx512"
#else
typedef __m256 vec;
#define LANES 8
#define SET1 _mm256_set1_ps
#define FMADD _mm256_fmadd_ps
#define ADD _mm256_add_ps
#define WIDTH "avx2"
#endif
#define N 400000000L
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static volatile float sink[2]; // volatile: the result is used, so the chains are not dead code
static void* run(void* arg){
  long id = (long)arg;
  vec x[12];
  for (int i = 0; i < 12; i++) x[i] = SET1(1.0f + 0.001f * i + 0.01f * id);
  vec m = SET1(0.9999999f), b = SET1(1e-7f);
  for (long i = 0; i < N / 12; i++) {
    #pragma GCC unroll 12
    for (int j = 0; j < 12; j++) x[j] = FMADD(x[j], m, b);
  }
  vec s = x[0];
  for (int i = 1; i < 12; i++) s = ADD(s, x[i]);
  float lanes[LANES];
  memcpy(lanes, &s, sizeof lanes);
  float total = 0;
  for (int i = 0; i < LANES; i++) total += lanes[i];
  sink[id] = total;
  return 0;
}
int main(void){
  for (int th = 1; th <= 2; th++) {
    pthread_t t[2];
    double s = now();
    for (long i = 0; i < th; i++) pthread_create(&t[i], 0, run, (void*)i);
    for (int i = 0; i < th; i++) pthread_join(t[i], 0);
    double e = now() - s;
    printf("threads=%d GFLOPS=%.1f width=%s\n", th, th * (double)(N / 12 * 12) * LANES * 2 / e / 1e9, WIDTH);
  }
  return 0;
}
