/* fuzz_awsconfig.c - the AWS config and credentials files (INI), as S3 sources read them. */
#include "bytesrc_http.h"
#include "fuzz.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write("credentials", data, size);
    if (!path)
        return 0;
    /* What s3_config asks of the two files: a profile's keys, and a "profile NAME" section. */
    static const char *const asks[][2] = {
        {"default", "aws_access_key_id"},  {"default", "aws_secret_access_key"},
        {"default", "aws_session_token"},  {"profile research", "region"},
        {"research", "aws_access_key_id"}, {"", ""},
    };
    for (size_t i = 0; i < sizeof asks / sizeof asks[0]; i++)
        free(ckpt__ini_get(path, asks[i][0], asks[i][1]));
    return 0;
}
