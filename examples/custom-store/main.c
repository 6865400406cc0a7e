/*
 * examples/custom-store/main.c - registers the array backend with
 * libsticky and uses it through the generic sticky_store API, exactly as
 * the library's selector will.
 */
#include <stdio.h>
#include <string.h>

#include "array_store.h"

int main(void)
{
    sticky_ctx *ctx;
    int rc = sticky_ctx_new(NULL, &ctx);
    if (rc != STICKY_OK) {
        fprintf(stderr, "sticky_ctx_new: %s\n", sticky_strerror(rc));
        return 1;
    }
    struct array_store_config cfg = {
        .capacity = 4,
        .ttl_seconds = 3600,
        .renew_threshold_seconds = 300,
        .renew_mode = STICKY_RENEW_THRESHOLD,
    };
    sticky_store *st;
    if ((rc = array_store_new(ctx, &cfg, &st)) != STICKY_OK) {
        fprintf(stderr, "array_store_new: %s\n", sticky_strerror(rc));
        sticky_ctx_free(ctx);
        return 1;
    }

    sticky_mapping m;
    sticky_mapping_init(&m);
    m.key = 0xa3f5c8e9b2d1f4a7ULL;
    strcpy(m.channel_id, "channel-1");
    strcpy(m.tenant_id, "tenant-a");
    rc = sticky_store_put(st, &m, STICKY_STORE_IF_ABSENT, NULL);
    printf("put %016llx -> %s: %s\n", (unsigned long long)m.key, m.channel_id,
           sticky_err_name(rc));

    /* A racing first request for the same session loses and learns the
     * channel the winner chose. */
    sticky_mapping other, existing;
    sticky_mapping_init(&other);
    sticky_mapping_init(&existing);
    other.key = m.key;
    strcpy(other.channel_id, "channel-2");
    rc = sticky_store_put(st, &other, STICKY_STORE_IF_ABSENT, &existing);
    printf("put-if-absent -> %s: %s, existing channel %s\n", other.channel_id,
           sticky_err_name(rc), existing.channel_id);

    sticky_mapping found;
    sticky_mapping_init(&found);
    rc = sticky_store_get(st, m.key, 0, &found);
    printf("get %016llx: %s, channel %s, requests %llu\n",
           (unsigned long long)m.key, sticky_err_name(rc), found.channel_id,
           (unsigned long long)found.request_count);

    sticky_store_stats s;
    sticky_store_stats_init(&s);
    sticky_store_get_stats(st, &s);
    printf("backend %s: entries %llu, hits %llu, inserts %llu\n",
           sticky_store_name(st), (unsigned long long)s.entries,
           (unsigned long long)s.hits, (unsigned long long)s.inserts);
    sticky_store_free(st);
    sticky_ctx_free(ctx);
    return 0;
}
