/* A preload's refusal to run (see refusal.h). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "refusal.h"

_Noreturn void
preload_refuse(const char *preload, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	fprintf(stderr, "%s: refusing to run: ", preload);
	vfprintf(stderr, format, args);
	fputc('\n', stderr);
	va_end(args);
	fflush(stderr);
	_exit(EXIT_FAILURE);
}
