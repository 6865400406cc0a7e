/*
 * tests/fuzz/standalone_driver.c - runs a libFuzzer target over the files
 * given on the command line (the seed corpus), for builds without clang's
 * libFuzzer (gcc). Exit 0 when every input ran.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (f == NULL) {
            perror(argv[i]);
            return 1;
        }
        size_t cap = 1 << 20, n = 0;
        uint8_t *buf = malloc(cap);
        size_t got;
        while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
            n += got;
            if (n == cap) {
                uint8_t *bigger = realloc(buf, cap *= 2);
                if (bigger == NULL) {
                    free(buf);
                    buf = NULL;
                }
                buf = bigger;
            }
        }
        fclose(f);
        if (buf == NULL)
            return 1;
        LLVMFuzzerTestOneInput(buf, n);
        free(buf);
    }
    printf("ran %d inputs\n", argc - 1);
    return 0;
}
