/* gen_csv.c - deterministic generator for the CSV benchmark: a 12-column,
 * mixed-type CSV of about the requested size (MB) on stdout. Same seed,
 * same bytes. Build: cc -O2 -o gen_csv gen_csv.c */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t state = 0x9E3779B97F4A7C15ull;

static uint64_t next(void) { /* xorshift64* */
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545F4914F6CDD1Dull;
}

static const char *const countries[] = {"GB", "US", "DE", "FR", "NL", "ES", "IT", "IN", "BR", "JP"};
static const char *const words[] = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
                                    "india", "juliet", "kilo", "lima", "mike", "november", "oscar", "papa"};

int main(int argc, char **argv) {
  double mb = argc > 1 ? atof(argv[1]) : 1024;
  uint64_t target = (uint64_t)(mb * 1024 * 1024), written = 0;
  int n = printf("id,uuid,email,name,country,signup_date,last_seen,amount,quantity,active,score,note\n");
  if (n < 0) return 1;
  written += (uint64_t)n;
  for (uint64_t id = 1; written < target; id++) {
    uint64_t r = next(), r2 = next();
    char score[32] = "";
    if (r % 17 != 0) snprintf(score, sizeof score, "%.4f", (double)(r2 % 1000000) / 10000.0);
    const char *note_q = (r % 11 == 0) ? "\"" : "";
    n = printf("%llu,%08llx-%04llx-4%03llx-a%03llx-%012llx,user%llu@example.com,%s %s,%s,"
               "20%02llu-%02llu-%02llu,2024-%02llu-%02lluT%02llu:%02llu:%02lluZ,%llu.%02llu,%llu,%s,%s,"
               "%s%s %s%s%s\n",
               (unsigned long long)id, (unsigned long long)(r >> 32), (unsigned long long)(r & 0xffff),
               (unsigned long long)(r2 & 0xfff), (unsigned long long)((r2 >> 12) & 0xfff),
               (unsigned long long)(r2 >> 16) & 0xffffffffffffull, (unsigned long long)id,
               words[r % 16], words[(r >> 8) % 16], countries[(r >> 16) % 10],
               (unsigned long long)(10 + (r >> 20) % 14), (unsigned long long)(1 + (r >> 24) % 12),
               (unsigned long long)(1 + (r >> 28) % 28), (unsigned long long)(1 + (r2 >> 4) % 12),
               (unsigned long long)(1 + (r2 >> 8) % 28), (unsigned long long)((r2 >> 12) % 24),
               (unsigned long long)((r2 >> 20) % 60), (unsigned long long)((r2 >> 28) % 60),
               (unsigned long long)(r2 % 5000), (unsigned long long)((r2 >> 40) % 100),
               (unsigned long long)(1 + (r >> 36) % 20), (r & 1) ? "true" : "false", score, note_q,
               words[(r2 >> 44) % 16], (r % 11 == 0) ? "with, comma" : words[(r2 >> 48) % 16],
               (r % 11 == 0) ? " and \"\"quote\"\"" : "", note_q);
    if (n < 0) return 1;
    written += (uint64_t)n;
  }
  return fflush(stdout) == 0 ? 0 : 1;
}
