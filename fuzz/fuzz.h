/*
 * fuzz.h - what the fuzz targets share.
 *
 * Each fuzz_NAME.c defines LLVMFuzzerTestOneInput for one reader.  Built
 * with clang -fsanitize=fuzzer it is a libFuzzer target (make fuzz);
 * linked with driver.c it replays files (make check, with any compiler).
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A path that reads back data: an anonymous in-memory file, for readers
 * that take a path.  Returns the descriptor to close() (-1 on failure)
 * and fills path ("/proc/self/fd/N"). */
int fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t len);

#endif
