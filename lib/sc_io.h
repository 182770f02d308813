/*
 * sc_io.h - output files that are complete or absent.
 *
 * A named output is written to a temporary file in the same directory and
 * renamed over the destination only when everything was written and
 * flushed to disk, so a failed or cut run never leaves a torn file and
 * never replaces what the user had.  The temporary file is a hidden
 * ".NAME.tmpXXXXXX", removed on SIGINT, SIGTERM, SIGHUP and SIGPIPE.
 * "-" (or NULL) is standard output; a device or a pipe is written as it
 * is.
 */
#ifndef SC_IO_H
#define SC_IO_H

#include <stdio.h>

struct sc_out {
	FILE *f;
	char path[4096];	/* destination; "" for standard output */
	char tmp[4096];		/* the temporary file while open */
};

/* Open an output; returns 0, or -1 with a message naming the path. */
int sc_out_open(struct sc_out *o, const char *path);

/* Whether an output can be created at path before the work that fills
 * it starts: a file's temporary file is made and removed again; standard
 * output, a device or a pipe is not touched (opening a FIFO would wait
 * for a reader).  Returns 0, or -1 with the message sc_out_open gives. */
int sc_out_check(const char *path);

/* Flush, sync and move into place (or flush standard output).  Returns
 * 0, or -1 with a message; on failure the temporary file is removed. */
int sc_out_commit(struct sc_out *o);

/* Drop an output that will not be completed. */
void sc_out_abort(struct sc_out *o);

/* Remove the temporary files of outputs still open (the signal handler
 * sc_out_open installs does this before the signal takes effect). */
void sc_io_remove_pending(void);

/* Install the handler that removes temporary files on SIGINT, SIGTERM,
 * SIGHUP and SIGPIPE, for each of them still at its default action;
 * sc_out_open does this for the first named output.  A tool with its own
 * handler calls it first and keeps the handler it replaces. */
void sc_io_watch_signals(void);

/* Sync the directory that holds path, so that a rename into it survives
 * a crash of the system.  Returns 0, or -1 with a message. */
int sc_io_sync_dir(const char *path);

/* Whether two named outputs would land in the same file: the same
 * existing file, or the same name in the same directory.  Standard
 * output ("-" or NULL), devices and pipes are never the same output. */
int sc_out_same(const char *a, const char *b);

/* The name to show in messages. */
const char *sc_out_name(const struct sc_out *o);

#endif
