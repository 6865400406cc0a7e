/*
 * examples/integration/minimal_gateway.c - the smallest gateway loop:
 * select a channel, forward (simulated here), report the outcome. The
 * README shows route(); the test suite compiles and runs this file.
 */
#include <stdio.h>
#include <string.h>

#include <sticky/sticky.h>

/* Stand-in for the host's HTTP client: channel "A" is rate limited once. */
static int forward(const char *channel, int *rate_limited_once)
{
    if (strcmp(channel, "A") == 0 && !*rate_limited_once) {
        *rate_limited_once = 1;
        return 429;
    }
    return 200;
}

/* Route one request: select -> forward -> report; retry once on failure. */
static int route(sticky_ctx *ctx, const sticky_channel *ch, size_t n, const char *tenant,
                 const char *body, int *limited, char *used, size_t used_cap)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        sticky_request req;
        sticky_request_init(&req);
        req.tenant = tenant;
        req.tenant_len = strlen(tenant);
        req.model = "claude-sonnet-4-5";
        req.model_len = strlen(req.model);
        req.body = body;
        req.body_len = strlen(body);
        sticky_decision d;
        sticky_decision_init(&d);
        int rc = sticky_select(ctx, &req, ch, n, &d);
        if (rc != STICKY_OK)
            return rc; /* STICKY_ENOCHANNEL: d.retry_at_ms says when to retry */
        int status = forward(d.channel_id, limited);
        sticky_outcome out;
        sticky_outcome_init(&out);
        out.status = status;
        out.retry_after_seconds = status == 429 ? 30 : STICKY_ABSENT;
        sticky_report(ctx, &d, &out);
        printf("%-8s -> %s (%s)%s%s\n", d.key_hex, d.channel_id, sticky_reason_name(d.reason),
               d.moved_from[0] ? ", moved from " : "", d.moved_from);
        if (status < 400) {
            snprintf(used, used_cap, "%s", d.channel_id);
            return STICKY_OK;
        }
    }
    return STICKY_ENOCHANNEL;
}

int main(void)
{
    sticky_ctx *ctx = NULL;
    if (sticky_ctx_new(NULL, &ctx) != STICKY_OK)
        return 1;
    sticky_channel ch[2];
    sticky_channel_init(&ch[0]);
    sticky_channel_init(&ch[1]);
    ch[0].id = "A";
    ch[1].id = "B";
    const char *turns[] = {
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\","
        "\"content\":\"hello\"},{\"role\":\"user\",\"content\":\"more\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\","
        "\"content\":\"hello\"},{\"role\":\"user\",\"content\":\"more\"},{\"role\":\"assistant\","
        "\"content\":\"ok\"},{\"role\":\"user\",\"content\":\"thanks\"}]}",
    };
    int limited = 0, rc = 0;
    char used[3][STICKY_ID_SIZE];
    for (int t = 0; t < 3 && rc == 0; t++)
        rc = route(ctx, ch, 2, "tenant-1", turns[t], &limited, used[t], sizeof(used[t]));
    sticky_ctx_free(ctx);
    /* Turn 1 was rate limited on A and moved to B; turns 2 and 3 stay on B. */
    if (rc != 0 || strcmp(used[0], "B") || strcmp(used[1], "B") || strcmp(used[2], "B")) {
        fprintf(stderr, "unexpected routing\n");
        return 1;
    }
    return 0;
}
