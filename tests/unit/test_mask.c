/* test_mask.c - the masking filter: registered secrets and secret-bearing
 * keys are replaced by ***, nothing else changes. */
#include <stdlib.h>

#include "../../host/mask.h"
#include "check.h"

static struct nv_mask m;

static void expect(const char *in, const char *want) {
  size_t n;
  char *out = nv_mask_apply(&m, in, strlen(in), &n);
  CHECK(out != NULL);
  if (out) {
    CHECK(n == strlen(out));
    CHECK_STR(out, want);
  }
  free(out);
}

int main(void) {
  nv_mask_init(&m);
  CHECK(nv_mask_add(&m, "dapi1234567890abcdef", 20));
  CHECK(nv_mask_add(&m, "abc", 3)); /* too short: ignored, not an error */
  CHECK(nv_mask_add(&m, "dapi1234567890abcdef", 20)); /* duplicate */
  CHECK(m.n == 1);
  CHECK(nv_mask_add(&m, "s3cr3t-pass", 11));
  CHECK(nv_mask_add(&m, "s3cr3t", 6)); /* contained in another: longest first */

  expect("", "");
  expect("plain text stays", "plain text stays");
  expect("token is dapi1234567890abcdef here", "token is *** here");
  expect("dapi1234567890abcdefdapi1234567890abcdef", "******");
  expect("pw s3cr3t-pass and s3cr3t", "pw *** and ***");
  expect("abc is short and stays", "abc is short and stays");

  /* keys whose values are secrets, whatever the value */
  expect("https://acct.blob.core.windows.net/c/f.csv?sp=r&sig=AbC%2Bd&se=2025",
         "https://acct.blob.core.windows.net/c/f.csv?sp=r&sig=***&se=2025");
  expect("DefaultEndpointsProtocol=https;AccountName=dev;AccountKey=Eby8vdM0==;BlobEndpoint=x",
         "DefaultEndpointsProtocol=https;AccountName=dev;AccountKey=***;BlobEndpoint=x");
  expect("{\"password\": \"hunter2\", \"user\": \"bob\"}",
         "{\"password\": \"***\", \"user\": \"bob\"}");
  expect("NUVYN_API_KEY=xyz123 EXECUTOR_LOG_LEVEL=DEBUG",
         "NUVYN_API_KEY=*** EXECUTOR_LOG_LEVEL=DEBUG");
  expect("Authorization: Bearer eyJhbGciOi.x.y", "Authorization: Bearer ***");
  expect("postgresql://nv:pw0rd@127.0.0.1:5432/db", "postgresql://nv:***@127.0.0.1:5432/db");
  expect("postgresql://nv@127.0.0.1/db", "postgresql://nv@127.0.0.1/db");
  expect("Driver=PostgreSQL;Uid=u;Pwd=x1;Server=h", "Driver=PostgreSQL;Uid=u;Pwd=***;Server=h");
  /* ordinary keys that merely look similar are left alone */
  expect("primary_key=id tokens=5 signal=ok", "primary_key=id tokens=5 signal=ok");
  expect("password=", "password=");
  /* a key naming an object or array is structure, not a value to hide */
  expect("{\"book#Secret\":{\"rows\":1},\"token\":[1]}", "{\"book#Secret\":{\"rows\":1},\"token\":[1]}");
  nv_mask_free(&m);
  CHECK(m.n == 0);
  return CHECK_DONE();
}
