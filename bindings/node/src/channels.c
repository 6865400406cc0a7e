/*
 * channels.c - the native ChannelSet: a JavaScript channel list converted
 * once into the library's sticky_channel array (ids and model patterns
 * copied into one block), held by an External with a type tag.
 */
#include <stdlib.h>
#include <string.h>

#include "native.h"

static const napi_type_tag CHANNELS_TAG = {0x7374636b63686e6cULL, 0x6c69627374636b31ULL};

/* Largest channel list the library takes in one call. */
#define MAX_CHANNELS 1024
#define MAX_MODELS 256

static void channels_finalize(napi_env env, void *data, void *hint)
{
    (void)env;
    (void)hint;
    channel_set *cs = data;
    free(cs->array);
    free(cs->strings);
    free(cs->models);
    free(cs);
}

static int get_prop(napi_env env, napi_value obj, const char *name, napi_value *out)
{
    bool has = false;
    napi_has_named_property(env, obj, name, &has);
    if (!has)
        return 0;
    napi_get_named_property(env, obj, name, out);
    return !is_nullish(env, *out);
}

static int get_int(napi_env env, napi_value obj, const char *name, int64_t lo, int64_t hi,
                   int64_t *out)
{
    napi_value v;
    if (!get_prop(env, obj, name, &v))
        return 0;
    double d;
    if (napi_get_value_double(env, v, &d) != napi_ok || d != (double)(int64_t)d ||
        d < (double)lo || d > (double)hi) {
        throw_type(env, "channel %s must be an integer in %lld..%lld", name, (long long)lo,
                   (long long)hi);
        return -1;
    }
    *out = (int64_t)d;
    return 0;
}

/* channelsNew([{id, models, priority, weight, state, maxInflight}, ...]) */
napi_value js_channels_new(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1];
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    bool is;
    uint32_t n;
    if (argc < 1 || napi_is_array(env, argv[0], &is) != napi_ok || !is)
        return throw_type(env, "channels must be an array");
    napi_get_array_length(env, argv[0], &n);
    if (n == 0 || n > MAX_CHANNELS)
        return throw_type(env, "channels: 1..%d channels, got %u", MAX_CHANNELS, n);

    channel_set *cs = calloc(1, sizeof(*cs));
    char stack[4096];
    arena a;
    arena_init(&a, stack, sizeof stack);
    const char **ids = NULL;
    size_t *id_lens = NULL;
    const char ***models = NULL;
    size_t **model_lens = NULL;
    size_t *n_models = NULL;
    napi_value result = NULL;
    if (cs == NULL)
        goto nomem;
    cs->n = n;
    cs->array = calloc(n, sizeof(sticky_channel));
    ids = calloc(n, sizeof(*ids));
    id_lens = calloc(n, sizeof(*id_lens));
    models = calloc(n, sizeof(*models));
    model_lens = calloc(n, sizeof(*model_lens));
    n_models = calloc(n, sizeof(*n_models));
    if (cs->array == NULL || ids == NULL || id_lens == NULL || models == NULL ||
        model_lens == NULL || n_models == NULL)
        goto nomem;

    size_t total = 0, total_models = 0;
    for (uint32_t i = 0; i < n; i++) {
        napi_value c, v;
        napi_get_element(env, argv[0], i, &c);
        sticky_channel *ch = &cs->array[i];
        sticky_channel_init(ch);
        if (!get_prop(env, c, "id", &v)) {
            throw_type(env, "channel %u: id is required", i);
            goto fail;
        }
        if (get_string(env, v, &a, "channel id", &ids[i], &id_lens[i]) != 0)
            goto fail;
        if (id_lens[i] == 0 || id_lens[i] >= STICKY_ID_SIZE || memchr(ids[i], 0, id_lens[i])) {
            throw_type(env, "channel %u: id must be 1..%d bytes without NUL", i,
                       STICKY_ID_SIZE - 1);
            goto fail;
        }
        total += id_lens[i] + 1;
        if (get_prop(env, c, "models", &v)) {
            uint32_t m;
            if (napi_is_array(env, v, &is) != napi_ok || !is) {
                throw_type(env, "channel %s: models must be an array of strings", ids[i]);
                goto fail;
            }
            napi_get_array_length(env, v, &m);
            if (m > MAX_MODELS) {
                throw_type(env, "channel %s: more than %d models", ids[i], MAX_MODELS);
                goto fail;
            }
            models[i] = arena_alloc(&a, (m + 1) * sizeof(char *));
            model_lens[i] = arena_alloc(&a, (m + 1) * sizeof(size_t));
            if (models[i] == NULL || model_lens[i] == NULL)
                goto nomem;
            for (uint32_t k = 0; k < m; k++) {
                napi_value mv;
                napi_get_element(env, v, k, &mv);
                if (get_string(env, mv, &a, "model pattern", &models[i][k], &model_lens[i][k]) != 0)
                    goto fail;
                total += model_lens[i][k] + 1;
            }
            n_models[i] = m;
            total_models += m + 1;
            ch->n_models = m;
            ch->models = (const char *const *)1; /* set below */
        }
        int64_t x;
        x = ch->priority;
        if (get_int(env, c, "priority", INT32_MIN, INT32_MAX, &x) != 0)
            goto fail;
        ch->priority = (int)x;
        x = ch->weight;
        if (get_int(env, c, "weight", 0, UINT32_MAX, &x) != 0)
            goto fail;
        ch->weight = (uint32_t)x;
        x = ch->state;
        if (get_int(env, c, "state", 0, 2, &x) != 0)
            goto fail;
        ch->state = (int)x;
        x = ch->max_inflight;
        if (get_int(env, c, "maxInflight", 0, UINT32_MAX, &x) != 0)
            goto fail;
        ch->max_inflight = (uint32_t)x;
    }
    cs->strings = malloc(total ? total : 1);
    cs->models = calloc(total_models ? total_models : 1, sizeof(char *));
    if (cs->strings == NULL || cs->models == NULL)
        goto nomem;
    char *p = cs->strings;
    const char **mp = cs->models;
    for (uint32_t i = 0; i < n; i++) {
        memcpy(p, ids[i], id_lens[i]);
        p[id_lens[i]] = '\0';
        cs->array[i].id = p;
        p += id_lens[i] + 1;
        if (cs->array[i].models != NULL) {
            cs->array[i].models = mp;
            for (size_t k = 0; k < n_models[i]; k++) {
                memcpy(p, models[i][k], model_lens[i][k]);
                p[model_lens[i][k]] = '\0';
                *mp++ = p;
                p += model_lens[i][k] + 1;
            }
            *mp++ = NULL;
        }
    }
    if (napi_create_external(env, cs, channels_finalize, NULL, &result) != napi_ok) {
        result = NULL;
        goto nomem;
    }
    cs = NULL; /* the External owns it now */
    if (napi_type_tag_object(env, result, &CHANNELS_TAG) != napi_ok) {
        result = NULL;
        goto nomem;
    }
    goto out;
nomem:
    throw_error(env, "STICKY_ENOMEM", "channels: out of memory");
fail:
    result = NULL;
out:
    if (cs != NULL)
        channels_finalize(env, cs, NULL);
    free(ids);
    free(id_lens);
    free(models);
    free(model_lens);
    free(n_models);
    arena_free(&a);
    return result;
}

channel_set *get_channels(napi_env env, napi_value v)
{
    bool ok = false;
    void *p;
    if (napi_check_object_type_tag(env, v, &CHANNELS_TAG, &ok) != napi_ok || !ok ||
        napi_get_value_external(env, v, &p) != napi_ok) {
        throw_type(env, "channels: not a ChannelSet");
        return NULL;
    }
    return p;
}
