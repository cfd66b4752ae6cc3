/* fuzz_listing.c - an S3 / GCS ListObjectsV2 answer (XML), as a bucket folder's listing. */
#include "bytesrc.h"
#include "bytesrc_http.h"
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The first byte picks the listed prefix's length (the key part the parser strips); the
     * rest is the answer's body, given without a terminating NUL beyond its length. */
    if (size < 1)
        return 0;
    size_t plen = data[0] % 16;
    char *body = malloc(size);
    if (!body)
        return 0;
    memcpy(body, data + 1, size - 1);
    body[size - 1] = '\0';
    ckpt_listing l;
    memset(&l, 0, sizeof l);
    size_t cap = 0;
    char *token = NULL;
    if (ckpt__parse_list_page(body, size - 1, plen, &l, &cap, &token) == 0) {
        for (size_t i = 0; i < l.n; i++)
            if (strlen(l.e[i].name) == 0 || strchr(l.e[i].name, '/'))
                abort(); /* only files directly under the prefix are listed */
    }
    free(token);
    ckpt_listing_free(&l);
    free(body);
    return 0;
}
