/* files.h — reading configuration, certificate and CRL files with a size cap, and listing a
 * directory. An adapter: the only module here that touches the file system. */
#ifndef JITRD_FILES_H
#define JITRD_FILES_H

#include <stdbool.h>
#include <stddef.h>

#include "jitrd/error.h"

/* Reads a whole regular file of at most max bytes. On success *out is NUL-terminated (the NUL
 * not counted in *len) and owned by the caller (free()). diag: "path: reason".
 * Errors: JITRD_ERR_IO (missing, unreadable, not a regular file), JITRD_ERR_TOO_LARGE,
 * JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_file_read(const char *path, size_t max, char **out, size_t *len,
                               struct jitrd_diag *diag) JITRD_WUR;

/* Entries directly in dir that are not directories and whose names do not start with '.'
 * (a dangling symlink or a FIFO is listed, so reading it reports it), sorted by name, as full
 * paths ("dir/name"). On success *paths (count entries) is owned by the caller; free with
 * jitrd_paths_free. Errors: JITRD_ERR_IO, JITRD_ERR_TOO_LARGE (over 10000 entries),
 * JITRD_ERR_NOMEM. */
enum jitrd_err jitrd_dir_list(const char *dir, char ***paths, size_t *count,
                              struct jitrd_diag *diag) JITRD_WUR;

void jitrd_paths_free(char **paths, size_t count);

/* A directory only its owner may enter (a state directory: the journal holds the fleet's
 * inventory). Created 0700 when missing; an existing one of another mode is narrowed to 0700
 * (*narrowed = true, may be NULL, so the caller can say so); a symlink or non-directory is
 * refused. Errors: JITRD_ERR_IO (cannot create, not a directory, cannot chmod: not ours;
 * diag names the path, mode and reason). */
enum jitrd_err jitrd_private_dir(const char *dir, bool *narrowed,
                                 struct jitrd_diag *diag) JITRD_WUR;

/* Creates path as an empty regular file of mode 0600 when missing (whatever the umask), or
 * narrows an existing one to 0600; a symlink is refused (O_NOFOLLOW). For files that another
 * library then opens (SQLite gives its -wal and -shm files the database file's mode).
 * Errors: JITRD_ERR_IO. */
enum jitrd_err jitrd_private_file(const char *path, struct jitrd_diag *diag) JITRD_WUR;

/* The same for a file that may not exist: a missing one is left missing (JITRD_OK). */
enum jitrd_err jitrd_private_file_if_exists(const char *path, struct jitrd_diag *diag) JITRD_WUR;
/* Replaces path with len bytes atomically: a temporary file (mode 0600) in the same directory
 * is written, fsync'd and renamed over path, then the directory is fsync'd. A reader sees the
 * old content or the new, never a mix. Errors: JITRD_ERR_IO with "path: reason" in diag. */
enum jitrd_err jitrd_file_replace(const char *path, const char *bytes, size_t len,
                                  struct jitrd_diag *diag) JITRD_WUR;

/* Renames from over to (same file system, atomically), then fsyncs to's directory so the new
 * name survives a crash. For a file written (jitrd_file_replace) under a name no reader looks
 * at, checked, and only then put in place. Errors: JITRD_ERR_IO with "path: reason". */
enum jitrd_err jitrd_file_rename(const char *from, const char *to,
                                 struct jitrd_diag *diag) JITRD_WUR;

#endif
