/* Stands in for a test whose dependency was not found: says why, and
 * exits 77, which meson reports as SKIP. */
#include <stdio.h>

int
main(int argc, char **argv)
{
	printf("SKIP: %s\n", argc > 1 ? argv[1] : "a dependency is missing");
	return 77;
}
