/* testsupport.c — see testsupport.h. Test-only code: may read the environment and files. */
#include "testsupport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>

const char *tsupport_fixture(const char *relpath)
{
	static char path[4096];
	const char *dir = getenv("JITRD_FIXTURES");

	if (!dir) {
		fprintf(stderr, "JITRD_FIXTURES is not set\n");
		exit(99);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, relpath);
	return path;
}

char *tsupport_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (n + 4097 > cap) {
			char *grown;
			cap = cap ? cap * 2 : 8192;
			grown = realloc(buf, cap);
			if (!grown) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = grown;
		}
		size_t got = fread(buf + n, 1, 4096, f);
		n += got;
		if (got < 4096)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

char *tsupport_read_fixture(const char *relpath, size_t *len)
{
	char *buf = tsupport_read(tsupport_fixture(relpath), len);

	CU_ASSERT_PTR_NOT_NULL(buf);
	return buf;
}

int tsupport_run(const char *suite_name, const struct tsupport_case *cases)
{
	CU_pSuite suite;
	unsigned run, failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	suite = CU_add_suite(suite_name, NULL, NULL);
	if (!suite)
		return 99;
	for (const struct tsupport_case *c = cases; c->name; c++) {
		if (!CU_add_test(suite, c->name, c->fn))
			return 99;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	run = CU_get_number_of_tests_run();
	failed = CU_get_number_of_tests_failed();
	printf("CASES %u %u\n", run - failed, failed);
	CU_cleanup_registry();
	return failed ? 1 : 0;
}

static const char *const proxy_vars[] = {"http_proxy",  "HTTP_PROXY", "https_proxy",
                                         "HTTPS_PROXY", "all_proxy",  "ALL_PROXY"};

int tsupport_dead_proxy_set(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	char proxy[64];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int port = 0;

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd); /* bound, never listened, closed: connections to it are refused */
	if (port == 0)
		return -1;
	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", port);
	for (size_t i = 0; i < sizeof(proxy_vars) / sizeof(proxy_vars[0]); i++)
		if (setenv(proxy_vars[i], proxy, 1) != 0)
			return -1;
	return unsetenv("no_proxy") == 0 && unsetenv("NO_PROXY") == 0 ? 0 : -1;
}

void tsupport_dead_proxy_clear(void)
{
	for (size_t i = 0; i < sizeof(proxy_vars) / sizeof(proxy_vars[0]); i++)
		unsetenv(proxy_vars[i]);
}
