/* tests/abi/install_smoke.c - a tiny program built against an installed
 * libsticky via pkg-config: creates a context and prints the version. */
#include <stdio.h>
#include <string.h>

#include <sticky/sticky.h>

int main(void)
{
    sticky_ctx *ctx = NULL;
    int rc = sticky_ctx_new(NULL, &ctx);
    if (rc != STICKY_OK) {
        fprintf(stderr, "sticky_ctx_new: %s\n", sticky_strerror(rc));
        return 1;
    }
    sticky_ctx_free(ctx);
    if (strcmp(sticky_version_string(), STICKY_VERSION_STRING) != 0)
        return 1;
    printf("installed libsticky %s works\n", sticky_version_string());
    return 0;
}
