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

  /* issue 12: every secret form a path, URL or connection string carries */
  expect("https://acct.blob.core.windows.net/c/p?sv=2021-08-06&sig=SECRET%2Fx%3D",
         "https://acct.blob.core.windows.net/c/p?sv=2021-08-06&sig=***");
  expect("abfss://c@acct.dfs.core.windows.net/p?sv=2021&Signature=SeCr3t/+x",
         "abfss://c@acct.dfs.core.windows.net/p?sv=2021&Signature=***");
  expect("https://b.s3.amazonaws.com/k.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256"
         "&X-Amz-Credential=AKIAEXAMPLE/20240101/us-east-1/s3/aws4_request"
         "&X-Amz-Date=20240101T000000Z&X-Amz-Security-Token=FwoGZX%2Bz"
         "&X-Amz-Signature=0123abcd",
         "https://b.s3.amazonaws.com/k.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256"
         "&X-Amz-Credential=***&X-Amz-Date=20240101T000000Z"
         "&X-Amz-Security-Token=***&X-Amz-Signature=***");
  expect("/data/x?token=T0K&access_token=AT1&refresh_token=RT1&api_key=AK1&apikey=AK2",
         "/data/x?token=***&access_token=***&refresh_token=***&api_key=***&apikey=***");
  expect("https://h/x?client_secret=CS1&password=P1&pwd=P2&secret=S1",
         "https://h/x?client_secret=***&password=***&pwd=***&secret=***");
  /* key= only as a query parameter; a partition directory keeps its value */
  expect("https://maps.example.com/api?key=AIzaSyEXAMPLE&q=1", "https://maps.example.com/api?key=***&q=1");
  expect("/lake/key=2024/part-0.csv and key=value in prose", "/lake/key=2024/part-0.csv and key=value in prose");
  /* a secret key in a path segment ends at the next '/': the file name stays */
  expect("/lake/token=T0K/part-0.csv", "/lake/token=***/part-0.csv");
  expect("mysql://u:S3CR3T@db.example:3306/sales", "mysql://u:***@db.example:3306/sales");
  expect("postgresql://u:p@ss@h/db", "postgresql://u:***@h/db"); /* a raw '@' in the password */
  /* a raw '/', '#' or '?' in the password (AWS secret keys hold '/') */
  expect("postgresql://u:pa/ss@h/db", "postgresql://u:***@h/db");
  expect("postgresql://u:p#ss@h/db", "postgresql://u:***@h/db");
  expect("s3://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MDENG@bucket/x", "s3://AKIAIOSFODNN7EXAMPLE:***@bucket/x");
  /* ... but a port before the path is not a password, nor an '@' in a path */
  expect("https://host:8080/path?email=a@b.com", "https://host:8080/path?email=a@b.com");
  expect("https://host/users/a@b.com", "https://host/users/a@b.com");
  expect("postgresql://u:p@h/db?x=a@b", "postgresql://u:***@h/db?x=a@b");
  expect("https://h:8443/a@b", "https://h:8443/a@b");               /* a port, then an '@' in the path */
  /* a password of digits, then '/', then more (an AWS secret may): not a port outside web URLs */
  expect("s3://AKIAIOSFODNN7EXAMPLE:1234/K7MDENG@bucket/x", "s3://AKIAIOSFODNN7EXAMPLE:***@bucket/x");
  expect("postgresql://u:2024/x@h/db", "postgresql://u:***@h/db");
  expect("postgresql://h:5432/db?x=a@b", "postgresql://h:5432/db?x=a@b"); /* a port; the '@' in the query */
  expect("https://user@h:8443/x", "https://user@h:8443/x");          /* no password */
  expect("Driver={ODBC Driver 18};Server=h;UID=u;PWD=SECRET;Database=d",
         "Driver={ODBC Driver 18};Server=h;UID=u;PWD=***;Database=d");
  expect("Server=h;Password={se;cr}}et};Database=d", "Server=h;Password={***};Database=d");
  expect("Server=h;PWD={};x=1", "Server=h;PWD={};x=1");
  expect("Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic ***");
  expect("authorization=k3y.v4lue/x+y== next", "authorization=*** next");
  expect("{\"authorization\":\"k3yv4lue\"}", "{\"authorization\":\"***\"}");
  expect("Authorization: Bearer", "Authorization: ***"); /* one word: it may be the key */
  expect("authorization is pending", "authorization is pending");
  expect("{\"Authorization\":\"SharedKey acct:c2ln\"}", "{\"Authorization\":\"SharedKey ***\"}");
  expect("host adb-1.azuredatabricks.net token dapi0123456789abcdef0123456789abcdef-2 ok",
         "host adb-1.azuredatabricks.net token dapi*** ok");
  expect("dapi0123456789abcdef0123456789abcdef", "dapi***");
  expect("dapi_docs dapi123 dapix0123456789abcdef", "dapi_docs dapi123 dapix0123456789abcdef");
  expect("{\"key\":\"f.csv\",\"primary_key\":\"id\"}", "{\"key\":\"f.csv\",\"primary_key\":\"id\"}");
  nv_mask_free(&m);
  CHECK(m.n == 0);
  return CHECK_DONE();
}
