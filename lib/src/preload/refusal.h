/* How a preload refuses to run: one line on stderr, then exit. Used
 * where serving would be worse than not starting (a function it cannot
 * take over, an ABI it was not built for). */
#ifndef SHMGUARD_PRELOAD_REFUSAL_H
#define SHMGUARD_PRELOAD_REFUSAL_H

/* Print "@p preload: refusing to run: MESSAGE" and _exit(EXIT_FAILURE). */
_Noreturn void
preload_refuse(const char *preload, const char *format, ...) __attribute__((format(printf, 2, 3)));

#endif
