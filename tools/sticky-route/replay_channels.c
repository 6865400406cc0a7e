/* tools/sticky-route/replay_channels.c - reading channels.json:
 * [{"id":"A","priority":1,"weight":1,"models":["claude-*"],"max_inflight":0,
 *   "state":"active"}, ...] (only "id" required). Numbers must be integers
 * in the field's range: an error names the channel and the field. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli_util.h"
#include "replay.h"

static int fail(const char *path, const char *why)
{
    fprintf(stderr, "sticky-route: %s: %s\n", path, why);
    return -1;
}

/* "channels.json: channel 2 ("B"): <why>" */
static int fail_channel(const char *path, size_t i, const char *id, const char *why)
{
    fprintf(stderr, "sticky-route: %s: channel %zu (", path, i + 1);
    json_print_string(stderr, id);
    fprintf(stderr, "): %s\n", why);
    return -1;
}

static int parse_state(const char *s)
{
    if (strcmp(s, "active") == 0)
        return STICKY_CHANNEL_ACTIVE;
    if (strcmp(s, "disabled") == 0)
        return STICKY_CHANNEL_DISABLED;
    if (strcmp(s, "draining") == 0)
        return STICKY_CHANNEL_DRAINING;
    return -1;
}

int replay_channels_load(const char *path, struct replay_channels *out)
{
    memset(out, 0, sizeof(*out));
    char *text = NULL;
    size_t len = 0;
    if (read_file(path, STICKY_MAX_BODY_BYTES, &text, &len) != 0)
        return -1;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (root == NULL || !cJSON_IsArray(root)) {
        cJSON_Delete(root);
        return fail(path, "expected a JSON array of channels");
    }
    int rc = 0;
    cJSON *item;
    cJSON_ArrayForEach(item, root) {
        if (out->n == REPLAY_MAX_CHANNELS) {
            rc = fail(path, "too many channels");
            break;
        }
        cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
        if (!cJSON_IsString(id) || id->valuestring[0] == '\0' ||
            strlen(id->valuestring) >= STICKY_ID_SIZE) {
            rc = fail(path, "every channel needs an \"id\" string of 1..127 bytes");
            break;
        }
        if (replay_channel_index(out, id->valuestring) >= 0) {
            rc = fail(path, "duplicate channel id");
            break;
        }
        size_t i = out->n++;
        sticky_channel *c = &out->ch[i];
        sticky_channel_init(c);
        out->ids[i] = strdup(id->valuestring);
        c->id = out->ids[i];
        char why[160];
        int64_t num;
        int got = json_get_int(item, "priority", INT_MIN, INT_MAX, &num, why, sizeof(why));
        if (got > 0)
            c->priority = (int)num;
        if (got >= 0 && (got = json_get_int(item, "weight", 0, UINT32_MAX, &num, why,
                                            sizeof(why))) > 0)
            c->weight = (uint32_t)num;
        if (got >= 0 && (got = json_get_int(item, "max_inflight", 0, UINT32_MAX, &num, why,
                                            sizeof(why))) > 0)
            c->max_inflight = (uint32_t)num;
        if (got < 0) {
            rc = fail_channel(path, i, c->id, why);
            break;
        }
        cJSON *v = cJSON_GetObjectItemCaseSensitive(item, "state");
        if (cJSON_IsString(v)) {
            int st = parse_state(v->valuestring);
            if (st < 0) {
                rc = fail(path, "state must be active, disabled or draining");
                break;
            }
            c->state = st;
        }
        v = cJSON_GetObjectItemCaseSensitive(item, "models");
        if (cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0) {
            size_t n = (size_t)cJSON_GetArraySize(v);
            out->models[i] = calloc(n, sizeof(char *));
            size_t k = 0;
            cJSON *m;
            cJSON_ArrayForEach(m, v) {
                if (cJSON_IsString(m))
                    out->models[i][k++] = strdup(m->valuestring);
            }
            c->models = (const char *const *)out->models[i];
            c->n_models = k;
        }
    }
    cJSON_Delete(root);
    if (rc == 0 && out->n == 0)
        rc = fail(path, "no channels");
    if (rc != 0)
        replay_channels_free(out);
    return rc;
}

void replay_channels_free(struct replay_channels *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->ids[i]);
        for (size_t k = 0; c->models[i] && k < c->ch[i].n_models; k++)
            free(c->models[i][k]);
        free(c->models[i]);
    }
    memset(c, 0, sizeof(*c));
}

int replay_channel_index(const struct replay_channels *c, const char *id)
{
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->ids[i], id) == 0)
            return (int)i;
    }
    return -1;
}
