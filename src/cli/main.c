/* main.c — jitrd's command line: picks the command and maps results to exit statuses
 * (0 success, 1 the work failed, 2 usage or configuration error; DESIGN §4.1). */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("jitrd %s\n", JITRD_VERSION);
		return 0;
	}
	fprintf(stderr, "usage: jitrd COMMAND [OPTIONS]\n");
	return 2;
}
