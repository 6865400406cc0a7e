/*
 * tests/fuzz/fuzz_key_hex.c - libFuzzer target for sticky_key_from_hex():
 * any NUL-terminated text either parses to a key that formats back to the
 * same text (case-folded) or is rejected with STICKY_EPARSE.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sticky/sticky.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[64];
    size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    uint64_t key = 0;
    int rc = sticky_key_from_hex(text, &key);
    if (rc == STICKY_EPARSE)
        return 0;
    if (rc != STICKY_OK)
        abort();
    char back[STICKY_KEY_HEX_SIZE];
    sticky_key_to_hex(key, back);
    for (size_t i = 0; i < 17; i++) {
        if (tolower((unsigned char)text[i]) != back[i])
            abort();
    }
    return 0;
}
