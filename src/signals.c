/* Counts SIGINT and SIGTERM where a flooded event loop cannot miss them: compiled at start by bun:ffi's cc (signals.ts).
 *
 * No #include: a machine that runs Bun need not have C headers installed (libc6-dev), so the little this needs is
 * declared here, as Linux's C libraries lay it out on x86_64 and aarch64 (glibc and musl agree): struct sigaction
 * is the handler, a 1024-bit mask, the flags, and the restorer. */

typedef void (*handler_fn)(int);
typedef void (*action_fn)(int, void *, void *);

struct sigaction_ {
  union {
    handler_fn handler;
    action_fn action;
  } u;
  unsigned long mask[1024 / (8 * sizeof(unsigned long))];
  int flags;
  void (*restorer)(void);
};

int sigaction(int sig, const struct sigaction_ *act, struct sigaction_ *old);

#define SA_SIGINFO 4
#define HANDLER_DEFAULT ((handler_fn)0)
#define HANDLER_IGNORE ((handler_fn)1)

static volatile int arrived;
static struct sigaction_ previous[2];
static int watched[2];

/* Counts, then hands the signal to whoever handled it before (Bun, which queues the JavaScript listener). */
static void on_signal(int sig, void *info, void *context) {
  for (int i = 0; i < 2; i++) {
    if (watched[i] != sig) continue;
    arrived++;
    struct sigaction_ *p = &previous[i];
    if (p->flags & SA_SIGINFO) p->u.action(sig, info, context);
    else p->u.handler(sig);
  }
}

/* Wraps the handler in place for `sig` in slot 0 or 1. 0: done; 1: no handler to wrap (nothing is listening); -1: failed. */
int count_signal(int slot, int sig) {
  struct sigaction_ current;
  if (slot < 0 || slot > 1 || sigaction(sig, 0, &current) != 0) return -1;
  if ((current.flags & SA_SIGINFO) && current.u.action == on_signal) return 0; /* counted already */
  if (!(current.flags & SA_SIGINFO) && (current.u.handler == HANDLER_DEFAULT || current.u.handler == HANDLER_IGNORE)) return 1;
  struct sigaction_ mine = current;
  mine.flags |= SA_SIGINFO;
  mine.u.action = on_signal;
  previous[slot] = current;
  watched[slot] = sig;
  return sigaction(sig, &mine, 0) == 0 ? 0 : -1;
}

/* Where the count lives: read from JavaScript through a typed array, no call needed. */
void *signal_count(void) { return (void *)&arrived; }
