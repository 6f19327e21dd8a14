/* files.c — bounded file reads and sorted directory listings (see files.h).
 * Never follows a size it has not checked: the size is re-checked while reading, since a
 * file may grow between fstat and read. */
#include "jitrd/files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIR_MAX_ENTRIES 10000

enum jitrd_err jitrd_file_read(const char *path, size_t max, char **out, size_t *len,
                               struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_IO;
	struct stat st;
	char *content = NULL;
	size_t used = 0;
	int fd;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer; cleared below for a file */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		jitrd_diag_set(diag, "%s: %s", path, strerror(errno));
		return JITRD_ERR_IO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		jitrd_diag_set(diag, "%s: not a regular file", path);
		goto cleanup;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
		jitrd_diag_set(diag, "%s: %s", path, strerror(errno));
		goto cleanup;
	}
	if ((unsigned long long)st.st_size > max) {
		jitrd_diag_set(diag, "%s: %lld bytes, over the limit of %zu", path,
		               (long long)st.st_size, max);
		result = JITRD_ERR_TOO_LARGE;
		goto cleanup;
	}
	content = malloc((size_t)st.st_size + 1);
	if (!content) {
		jitrd_diag_set(diag, "%s: out of memory", path);
		result = JITRD_ERR_NOMEM;
		goto cleanup;
	}
	for (;;) {
		ssize_t got = read(fd, content + used, (size_t)st.st_size + 1 - used);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			jitrd_diag_set(diag, "%s: %s", path, strerror(errno));
			goto cleanup;
		}
		if (got == 0)
			break;
		used += (size_t)got;
		if (used > (size_t)st.st_size) {
			jitrd_diag_set(diag, "%s: file grew while being read", path);
			goto cleanup;
		}
	}
	content[used] = '\0';
	*out = content;
	*len = used;
	content = NULL;
	result = JITRD_OK;
cleanup:
	free(content);
	close(fd);
	return result;
}

static int compare_paths(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void jitrd_paths_free(char **paths, size_t count)
{
	if (!paths)
		return;
	for (size_t i = 0; i < count; i++)
		free(paths[i]);
	free(paths);
}

enum jitrd_err jitrd_dir_list(const char *dir, char ***paths, size_t *count,
                              struct jitrd_diag *diag)
{
	enum jitrd_err result = JITRD_ERR_IO;
	char **list = NULL;
	size_t n = 0, cap = 0;
	struct dirent *entry;
	DIR *d = opendir(dir);

	if (!d) {
		jitrd_diag_set(diag, "%s: %s", dir, strerror(errno));
		return JITRD_ERR_IO;
	}
	while ((entry = readdir(d)) != NULL) {
		struct stat st;
		char *path;
		size_t need;

		if (entry->d_name[0] == '.')
			continue;
		need = strlen(dir) + 1 + strlen(entry->d_name) + 1;
		path = malloc(need);
		if (!path) {
			jitrd_diag_set(diag, "%s: out of memory", dir);
			result = JITRD_ERR_NOMEM;
			goto cleanup;
		}
		snprintf(path, need, "%s/%s", dir, entry->d_name);
		/* Only directories are skipped. A dangling symlink, a FIFO or a socket is listed so
		 * that reading it fails with its name, instead of silently protecting nothing. */
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			free(path);
			continue;
		}
		if (n == DIR_MAX_ENTRIES) {
			free(path);
			jitrd_diag_set(diag, "%s: more than %d files", dir, DIR_MAX_ENTRIES);
			result = JITRD_ERR_TOO_LARGE;
			goto cleanup;
		}
		if (n == cap) {
			size_t grown_cap = cap ? cap * 2 : 16;
			char **grown = realloc(list, grown_cap * sizeof(*list));
			if (!grown) {
				free(path);
				jitrd_diag_set(diag, "%s: out of memory", dir);
				result = JITRD_ERR_NOMEM;
				goto cleanup;
			}
			list = grown;
			cap = grown_cap;
		}
		list[n++] = path;
	}
	if (n)
		qsort(list, n, sizeof(*list), compare_paths);
	*paths = list;
	*count = n;
	list = NULL;
	n = 0;
	result = JITRD_OK;
cleanup:
	jitrd_paths_free(list, n);
	closedir(d);
	return result;
}

enum jitrd_err jitrd_private_dir(const char *dir, bool *narrowed, struct jitrd_diag *diag)
{
	struct stat st;

	if (narrowed)
		*narrowed = false;
	/* mkdir's mode is cut by the umask, never widened: 0700 or narrower. */
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		jitrd_diag_set(diag, "%s: %s", dir, strerror(errno));
		return JITRD_ERR_IO;
	}
	/* lstat: a symlink planted in place of the directory is refused, not followed. */
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		jitrd_diag_set(diag, "%s: not a directory", dir);
		return JITRD_ERR_IO;
	}
	if ((st.st_mode & 07777) == 0700)
		return JITRD_OK;
	/* Wider (group or others may enter) or without the owner's rwx: narrowed to exactly
	 * 0700. Refused when that is not ours to do (another user's directory). */
	if (chmod(dir, 0700) != 0) {
		jitrd_diag_set(diag,
		               "%s: mode %04o, and it cannot be narrowed to 0700 (%s); make it "
		               "0700 and owned by the user jitrd runs as",
		               dir, (unsigned)(st.st_mode & 07777), strerror(errno));
		return JITRD_ERR_IO;
	}
	if (narrowed)
		*narrowed = true;
	return JITRD_OK;
}

enum jitrd_err jitrd_private_file(const char *path, struct jitrd_diag *diag)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
	if (fd < 0) {
		jitrd_diag_set(diag, "%s: %s", path, strerror(errno));
		return JITRD_ERR_IO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		jitrd_diag_set(diag, "%s: not a regular file", path);
		close(fd);
		return JITRD_ERR_IO;
	}
	if ((st.st_mode & 07777) != 0600 && fchmod(fd, 0600) != 0) {
		jitrd_diag_set(diag, "%s: mode %04o, and it cannot be narrowed to 0600 (%s)", path,
		               (unsigned)(st.st_mode & 07777), strerror(errno));
		close(fd);
		return JITRD_ERR_IO;
	}
	close(fd);
	return JITRD_OK;
}

enum jitrd_err jitrd_private_file_if_exists(const char *path, struct jitrd_diag *diag)
{
	struct stat st;

	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return JITRD_OK;
		jitrd_diag_set(diag, "%s: %s", path, strerror(errno));
		return JITRD_ERR_IO;
	}
	return jitrd_private_file(path, diag);
}
/* Makes a rename into path's directory durable: best effort, some file systems refuse to
 * fsync a directory. */
static void sync_parent(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int dfd;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if ((size_t)snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path),
	                          path) >= sizeof(dir))
		return;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
}

enum jitrd_err jitrd_file_replace(const char *path, const char *bytes, size_t len,
                                  struct jitrd_diag *diag)
{
	char tmp[4096];
	const char *slash = strrchr(path, '/');
	int dir_len = slash ? (int)(slash - path) : 1;
	const char *dir = slash ? path : ".";
	size_t done = 0;
	int fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%.*s/.%s.XXXXXX", dir_len, dir,
	                     slash ? slash + 1 : path) >= sizeof(tmp)) {
		jitrd_diag_set(diag, "%s: path too long", path);
		return JITRD_ERR_IO;
	}
	/* mkstemp creates the file 0600 whatever the umask */
	fd = mkstemp(tmp);
	if (fd < 0) {
		jitrd_diag_set(diag, "%s: %s", tmp, strerror(errno));
		return JITRD_ERR_IO;
	}
	while (done < len) {
		ssize_t n = write(fd, bytes + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	/* the new content must be on disk before the name points at it, or a crash could leave
	 * an empty file where the old one was */
	if (done != len || fchmod(fd, 0600) != 0 || fsync(fd) != 0) {
		jitrd_diag_set(diag, "%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return JITRD_ERR_IO;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		jitrd_diag_set(diag, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return JITRD_ERR_IO;
	}
	sync_parent(path);
	return JITRD_OK;
}

enum jitrd_err jitrd_file_rename(const char *from, const char *to, struct jitrd_diag *diag)
{
	if (!from || !to)
		return JITRD_ERR_INVALID_ARG;
	if (rename(from, to) != 0) {
		jitrd_diag_set(diag, "%s: %s", to, strerror(errno));
		return JITRD_ERR_IO;
	}
	sync_parent(to);
	return JITRD_OK;
}
