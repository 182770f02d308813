#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sc_error.h"
#include "sc_io.h"

/*
 * Temporary files in progress, so that a run stopped by a signal leaves
 * none behind: the handler removes them (unlink is safe in a handler)
 * and then lets the signal do what it would have done.
 */
#define MAX_PENDING 16

static char pending[MAX_PENDING][sizeof(((struct sc_out *)0)->tmp)];
static volatile sig_atomic_t pending_used[MAX_PENDING];

void
sc_io_remove_pending(void)
{
	for (int i = 0; i < MAX_PENDING; i++)
		if (pending_used[i]) {
			unlink(pending[i]);
			pending_used[i] = 0;
		}
}

static void
on_signal(int sig)
{
	sc_io_remove_pending();
	signal(sig, SIG_DFL);
	raise(sig);
}

void
sc_io_watch_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
	static int done;

	if (done)
		return;
	done = 1;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(*sigs); i++) {
		struct sigaction sa, old;

		sigaction(sigs[i], NULL, &old);
		if (old.sa_handler != SIG_DFL)
			continue;	/* ignored, or the tool's own */
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(sigs[i], &sa, NULL);
	}
}

static void
track(const char *tmp, int on)
{
	for (int i = 0; i < MAX_PENDING; i++) {
		if (on && !pending_used[i]) {
			memcpy(pending[i], tmp, strlen(tmp) + 1);
			pending_used[i] = 1;
			return;
		}
		if (!on && pending_used[i] && strcmp(pending[i], tmp) == 0) {
			pending_used[i] = 0;
			return;
		}
	}
}

int
sc_out_open(struct sc_out *o, const char *path)
{
	struct stat st;
	int fd;

	memset(o, 0, sizeof(*o));
	if (path == NULL || strcmp(path, "-") == 0) {
		o->f = stdout;
		return 0;
	}
	if (*path == '\0')
		return sc_fail("an empty file name (\"-\" is standard "
		    "output)");
	if (strlen(path) + 16 > sizeof(o->path))
		return sc_fail("%s: path too long", path);
	/* A device or a pipe (/dev/null, a FIFO) is written as it is:
	 * there is no file to replace. */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode))
			return sc_fail("%s: is a directory", path);
		o->f = fopen(path, "w");
		if (o->f == NULL)
			return sc_fail("%s: %s", path, strerror(errno));
		snprintf(o->path, sizeof(o->path), "%s", path);
		return 0;
	}
	snprintf(o->path, sizeof(o->path), "%s", path);
	{
		/* ".NAME.tmpXXXXXX" beside NAME: hidden, same file system. */
		const char *slash = strrchr(path, '/');
		int dir_len = slash != NULL ? (int)(slash - path + 1) : 0;

		snprintf(o->tmp, sizeof(o->tmp), "%.*s.%s.tmpXXXXXX", dir_len,
		    path, path + dir_len);
	}
	sc_io_watch_signals();
	fd = mkstemp(o->tmp);
	if (fd < 0) {
		o->tmp[0] = '\0';
		return sc_fail("%s: cannot create: %s", path, strerror(errno));
	}
	/* mkstemp makes the file 0600; outputs get the usual mode. */
	{
		mode_t mask = umask(0);

		umask(mask);
		fchmod(fd, 0666 & ~mask);
	}
	o->f = fdopen(fd, "w");
	if (o->f == NULL) {
		close(fd);
		unlink(o->tmp);
		o->tmp[0] = '\0';
		return sc_fail("%s: %s", path, strerror(errno));
	}
	track(o->tmp, 1);
	return 0;
}

/* The directory part of path, whose last '/' is slash (or NULL). */
static void
directory_of(const char *path, const char *slash, char *dir, size_t len)
{
	if (slash == NULL)
		snprintf(dir, len, ".");
	else if (slash == path)
		snprintf(dir, len, "/");
	else
		snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

int
sc_io_sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[sizeof(((struct sc_out *)0)->path)];
	int fd, rc = 0;

	directory_of(path, slash, dir, sizeof(dir));
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
		return sc_fail("%s: cannot open its directory: %s", path,
		    strerror(errno));
	/* Some file systems cannot sync a directory and say so with
	 * EINVAL; there is nothing more to do on those. */
	if (fsync(fd) != 0 && errno != EINVAL)
		rc = sc_fail("%s: cannot sync its directory: %s", path,
		    strerror(errno));
	close(fd);
	return rc;
}

int
sc_out_check(const char *path)
{
	struct sc_out o;
	struct stat st;

	if (path == NULL || strcmp(path, "-") == 0)
		return 0;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) &&
	    !S_ISDIR(st.st_mode))
		return 0;
	if (sc_out_open(&o, path) < 0)
		return -1;
	sc_out_abort(&o);
	return 0;
}

/* Where an output lands: the file's device and inode when it exists,
 * else its directory's and its last component.  Returns 1 for a regular
 * file (or none yet), 0 for standard output, a device or a pipe. */
static int
out_place(const char *path, struct stat *st, const char **base)
{
	char dir[4096];
	const char *slash;

	*base = NULL;
	if (path == NULL || strcmp(path, "-") == 0)
		return 0;
	if (stat(path, st) == 0)
		return S_ISREG(st->st_mode);
	slash = strrchr(path, '/');
	*base = slash != NULL ? slash + 1 : path;
	directory_of(path, slash, dir, sizeof(dir));
	if (stat(dir, st) != 0)
		memset(st, 0, sizeof(*st));
	return 1;
}

int
sc_out_same(const char *a, const char *b)
{
	struct stat sa, sb;
	const char *base_a, *base_b;

	if (!out_place(a, &sa, &base_a) || !out_place(b, &sb, &base_b))
		return 0;
	if (strcmp(a, b) == 0)
		return 1;
	if (sa.st_ino == 0 || sb.st_ino == 0 || sa.st_dev != sb.st_dev ||
	    sa.st_ino != sb.st_ino)
		return 0;
	if (base_a == NULL || base_b == NULL)
		return base_a == base_b;
	return strcmp(base_a, base_b) == 0;
}

const char *
sc_out_name(const struct sc_out *o)
{
	return o->path[0] != '\0' ? o->path : "<stdout>";
}

int
sc_out_commit(struct sc_out *o)
{
	int err;

	if (o->f == stdout) {
		if (fflush(stdout) != 0 || ferror(stdout))
			return sc_fail("<stdout>: write failed: %s",
			    strerror(errno));
		return 0;
	}
	if (o->tmp[0] == '\0') {	/* a device or a pipe */
		err = fflush(o->f) != 0 || ferror(o->f);
		if (fclose(o->f) != 0)
			err = 1;
		o->f = NULL;
		return err ? sc_fail("%s: write failed: %s", o->path,
		    strerror(errno)) : 0;
	}
	err = fflush(o->f) != 0 || ferror(o->f) || fsync(fileno(o->f)) != 0;
	if (err) {
		int e = errno;

		sc_out_abort(o);
		return sc_fail("%s: write failed: %s", o->path, strerror(e));
	}
	if (fclose(o->f) != 0) {
		int e = errno;

		o->f = NULL;
		unlink(o->tmp);
		track(o->tmp, 0);
		return sc_fail("%s: write failed: %s", o->path, strerror(e));
	}
	o->f = NULL;
	if (rename(o->tmp, o->path) != 0) {
		int e = errno;

		unlink(o->tmp);
		track(o->tmp, 0);
		return sc_fail("%s: cannot replace: %s", o->path, strerror(e));
	}
	track(o->tmp, 0);
	o->tmp[0] = '\0';
	return 0;
}

void
sc_out_abort(struct sc_out *o)
{
	if (o->f != NULL && o->f != stdout)
		fclose(o->f);
	o->f = NULL;
	if (o->tmp[0] != '\0') {
		unlink(o->tmp);
		track(o->tmp, 0);
	}
	o->tmp[0] = '\0';
}
