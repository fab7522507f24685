/* Counts SIGINT and SIGTERM where a flooded event loop cannot miss them: compiled at start by bun:ffi's cc (signals.ts). */
#include <signal.h>

static volatile int arrived;
static struct sigaction previous[2];
static int watched[2];

/* Counts, then hands the signal to whoever handled it before (Bun, which queues the JavaScript listener). */
static void on_signal(int sig, siginfo_t *info, void *context) {
  for (int i = 0; i < 2; i++) {
    if (watched[i] != sig) continue;
    arrived++;
    struct sigaction *p = &previous[i];
    if (p->sa_flags & SA_SIGINFO) p->sa_sigaction(sig, info, context);
    else p->sa_handler(sig);
  }
}

/* Wraps the handler in place for `sig` in slot 0 or 1. 0: done; 1: no handler to wrap (nothing is listening); -1: failed. */
int count_signal(int slot, int sig) {
  struct sigaction current;
  if (slot < 0 || slot > 1 || sigaction(sig, 0, &current) != 0) return -1;
  if ((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == on_signal) return 0; /* counted already */
  if (!(current.sa_flags & SA_SIGINFO) && (current.sa_handler == SIG_DFL || current.sa_handler == SIG_IGN)) return 1;
  struct sigaction mine = current;
  mine.sa_flags |= SA_SIGINFO;
  mine.sa_sigaction = on_signal;
  previous[slot] = current;
  watched[slot] = sig;
  return sigaction(sig, &mine, 0) == 0 ? 0 : -1;
}

/* Where the count lives: read from JavaScript through a typed array, no call needed. */
void *signal_count(void) { return (void *)&arrived; }
