/* test_files.c — the file adapter's atomic replace (jitrd_file_replace): content, mode 0600
 * whatever the umask, no temporary left behind, and the old content intact on failure. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jitrd/files.h"
#include "testsupport.h"

static char dir[64];

static size_t entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void test_replace(void)
{
	char path[128], *text = NULL;
	size_t len = 0;
	struct jitrd_diag diag = {""};
	struct stat st;
	mode_t old = umask(0);

	snprintf(path, sizeof(path), "%s/record", dir);
	CU_ASSERT_EQUAL(jitrd_file_replace(path, "first\n", 6, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(jitrd_file_replace(path, "second\n", 7, &diag), JITRD_OK);
	umask(old);
	CU_ASSERT_EQUAL(jitrd_file_read(path, 100, &text, &len, &diag), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(text, "second\n");
	CU_ASSERT_EQUAL(len, 7);
	free(text);
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	CU_ASSERT_EQUAL(entries(), 1); /* no temporary left */
	/* an empty content is a content */
	CU_ASSERT_EQUAL(jitrd_file_replace(path, "", 0, &diag), JITRD_OK);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_size, 0);
	unlink(path);
}

static void test_failures(void)
{
	char path[128], target[128], *text = NULL;
	size_t len = 0;
	struct jitrd_diag diag = {""};

	/* a directory that is not there */
	snprintf(path, sizeof(path), "%s/missing/record", dir);
	CU_ASSERT_EQUAL(jitrd_file_replace(path, "x", 1, &diag), JITRD_ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "missing"));
	/* a name taken by a directory: rename fails, the temporary goes, the directory stays */
	snprintf(target, sizeof(target), "%s/taken", dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(target, 0700), 0);
	snprintf(path, sizeof(path), "%s/taken/inner", dir);
	CU_ASSERT_EQUAL(jitrd_file_replace(path, "keep\n", 5, &diag), JITRD_OK);
	diag.text[0] = '\0';
	CU_ASSERT_EQUAL(jitrd_file_replace(target, "x", 1, &diag), JITRD_ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.text, "taken"));
	CU_ASSERT_EQUAL(entries(), 1); /* only "taken" */
	CU_ASSERT_EQUAL(jitrd_file_read(path, 100, &text, &len, &diag), JITRD_OK);
	CU_ASSERT_STRING_EQUAL(text, "keep\n");
	free(text);
	unlink(path);
	rmdir(target);
	/* a path too long for the temporary's name */
	{
		char long_path[5000];

		memset(long_path, 'a', sizeof(long_path) - 1);
		long_path[0] = '/';
		long_path[sizeof(long_path) - 1] = '\0';
		CU_ASSERT_EQUAL(jitrd_file_replace(long_path, "x", 1, &diag), JITRD_ERR_IO);
		CU_ASSERT_EQUAL(strncmp(diag.text, "/aaa", 4), 0); /* "path: path too long", cut */
	}
}

int main(void)
{
	static const struct tsupport_case cases[] = {
	    {"replace", test_replace},
	    {"failures", test_failures},
	    {NULL, NULL},
	};
	int status;

	snprintf(dir, sizeof(dir), "/tmp/jitrd-files.XXXXXX");
	if (!mkdtemp(dir))
		return 99;
	status = tsupport_run("files", cases);
	rmdir(dir);
	return status;
}
