/*
 * sc_ckpt.h - saved models and training checkpoints.
 *
 * Both kinds of file share one layout, little-endian:
 *   8 bytes   magic: "SCMODEL\0" for a model, "SCCKPT\0\0" for a
 *             checkpoint
 *   u32       format version (1 for both)
 *   u32       length L of the JSON header
 *   L bytes   JSON header
 *   tensors   each a u64 count C, then C values of 4 bytes:
 *               model:      parameters (f32), running statistics (f32)
 *               checkpoint: parameters, running statistics, the SGD
 *                           velocity (f32), the current epoch's order
 *                           of the training samples (u32), and the
 *                           LR estimate's weight snapshots (f32; none
 *                           without --estimate-lr)
 *   u32       CRC-32 (zlib) of every byte before it
 *
 * A model's header is the configuration of the run that trained it; a
 * checkpoint's holds that configuration under "config" and where the run
 * stands besides (see sc_ckpt_save_run).  Files are written beside their
 * destination, synced, renamed into place and the directory synced, so a
 * crash at any moment leaves the previous file whole.
 */
#ifndef SC_CKPT_H
#define SC_CKPT_H

#include <stddef.h>
#include <stdint.h>

#include "sc_nn.h"

struct cJSON;
struct sc_trainer;

#define SC_CKPT_VERSION 1

enum sc_ckpt_kind { SC_CKPT_MODEL, SC_CKPT_RUN };

/* The tensors of a file, in their order in it. */
enum {
	SC_CKPT_THETA, SC_CKPT_STATE, SC_CKPT_VELOCITY, SC_CKPT_ORDER,
	SC_CKPT_SNAPSHOTS, SC_CKPT_MAX_TENSORS
};

/* count values of 4 bytes at p, inside the file's bytes and not aligned
 * (copy them out with memcpy). */
struct sc_ckpt_tensor {
	const unsigned char *p;
	uint64_t count;
};

/* A file checked and taken apart. */
struct sc_ckpt_view {
	enum sc_ckpt_kind kind;
	struct cJSON *header;		/* the parsed JSON header */
	struct sc_ckpt_tensor t[SC_CKPT_MAX_TENSORS];
	int n_tensors;			/* 2 for a model, 5 for a checkpoint */
	unsigned char *owned;		/* the bytes, when read from a file */
	char name[1024];		/* for messages */
};

/* Check len bytes at buf as a model or a checkpoint: magic, version,
 * structure (every length within the bytes), CRC and a JSON object as
 * header.  On success, fills v with pointers into buf, which must outlive
 * it, and returns 0; otherwise returns -1 with a message that begins with
 * name.  Release with sc_ckpt_view_free either way.  This needs no
 * network or trainer: it is what a fuzzer should call. */
int sc_ckpt_parse(const void *buf, size_t len, const char *name,
    struct sc_ckpt_view *v);

/* Read the file at path and check it as sc_ckpt_parse does; the view
 * owns the bytes.  Returns 0, or -1 with a message naming the file. */
int sc_ckpt_read(const char *path, struct sc_ckpt_view *v);

void sc_ckpt_view_free(struct sc_ckpt_view *v);

/* Whether the file at path begins as a training checkpoint does (its
 * magic only: a damaged checkpoint counts).  0 when it cannot be read. */
int sc_ckpt_is_run_file(const char *path);

/* SC_CKPT_RUN or SC_CKPT_MODEL as the file at path begins (its magic
 * only), or -1: another kind of file, or none that can be read. */
int sc_ckpt_file_kind(const char *path);

/* Save the parameters and running statistics of m as a model file with
 * the given JSON header (not consumed).  Returns 0, or -1 with a message
 * naming the file. */
int sc_ckpt_save(const char *path, const struct sc_model *m,
    const struct cJSON *header);

/* Copy the parameters and running statistics of a model file or of a
 * checkpoint into m, which must have as many of each.  Returns 0, or -1
 * with a message naming the file. */
int sc_ckpt_restore_model(const struct sc_ckpt_view *v, struct sc_model *m);

/* Read a model file or a checkpoint into m (weights and statistics only,
 * as sc_ckpt_restore_model).  *config receives the configuration it was
 * made with (cJSON_Delete it) unless config is NULL.  Returns 0, or -1
 * naming the file and the fault. */
int sc_ckpt_load(const char *path, struct sc_model *m,
    struct cJSON **config);

/* Save everything a training run carries at the end of update
 * tr->update, so that sc_ckpt_restore_run continues it exactly: the
 * tensors above and, in the header, "config" (a copy of config), the
 * update counter, the batches drawn, both generators' states, the sums
 * of the training CSV row being gathered and the LR estimate's value.
 * Returns 0, or -1 with a message naming the file. */
int sc_ckpt_save_run(const char *path, const struct sc_trainer *tr,
    const struct cJSON *config);

/* Put a trainer created with the checkpoint's configuration where the
 * checkpoint's run stood.  A file that is a model, or whose tensors do
 * not fit the trainer's network and data, is refused with a message
 * naming what differs.  Returns 0 or -1; on failure tr may have been
 * partly overwritten. */
int sc_ckpt_restore_run(const struct sc_ckpt_view *v, struct sc_trainer *tr);

/* Compare the configuration saved in a checkpoint with the one of the
 * run that resumes it, member by member, leaving out those that name
 * things rather than decide the run ("schedule", a file name, and
 * "blas_core").  Writes "key: A in the checkpoint, B here" for each
 * difference, separated by "; ", to buf, and returns their number. */
int sc_ckpt_config_diff(const struct cJSON *saved, const struct cJSON *now,
    char *buf, size_t len);

#endif
