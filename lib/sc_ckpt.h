/*
 * sc_ckpt.h - saved models.
 *
 * Layout, little-endian:
 *   8 bytes   magic "SCMODEL\0"
 *   u32       format version (1)
 *   u32       length L of the JSON header
 *   L bytes   JSON header: the configuration and the parameter count
 *   u64       number of parameters P
 *   P * f32   the parameters, in the model's layer order
 *   u64       number of running statistics S (batch normalisation)
 *   S * f32   the statistics, in the same order
 *   u32       CRC-32 (zlib) of every byte before it
 * The file is written beside its destination and renamed into place.
 */
#ifndef SC_CKPT_H
#define SC_CKPT_H

#include "sc_nn.h"

struct cJSON;

#define SC_CKPT_VERSION 1

/* Save the parameters of m with the given JSON header (not consumed).
 * Returns 0, or -1 with a message naming the file. */
int sc_ckpt_save(const char *path, const struct sc_model *m,
    const struct cJSON *header);

/* Load parameters and statistics saved by sc_ckpt_save into m, which
 * must have as many of each.
 * *header receives the parsed JSON header (cJSON_Delete it) unless
 * header is NULL.  Returns 0, or -1 naming the file and the fault. */
int sc_ckpt_load(const char *path, struct sc_model *m,
    struct cJSON **header);

#endif
