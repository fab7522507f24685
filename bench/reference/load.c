/*
 * load.c - a load driver for relays that speak the chat protocol (see
 * README.md). It is a cross-check for the project's own generator, written
 * for the lowest client-side cost: one thread, epoll, recvmmsg.
 *
 *   usage: load HOST PORT CLIENTS SENDERS RATE DURATION [PAYLOAD]
 *   env:   RELAY_PID=pid  also report the relay's CPU time per delivery (its
 *                         threads' schedstat run time, else utime + stime)
 *          RELAY_CORE=n   also report core n's busy time per delivery (the
 *                         relay pinned there: its softirq work included,
 *                         also what ran in ksoftirqd rather than the relay)
 *
 * Phases:
 *   1. register: every client has its own UDP socket and sends its name
 *      "c<i>"; it counts as registered once its own socket has received
 *      "[SERVER] c<i> has joined the chat." Up to REG_WINDOW registrations
 *      are in flight at once; one unanswered after REG_RETRY_NS sends its
 *      name again, up to REG_TRIES times, waiting twice as long after each
 *      try up to 16 x REG_RETRY_NS. Then wait for QUIET_NS of silence.
 *   2. send: clients 0..SENDERS-1 take turns sending "T<ns>:<i>:" padded
 *      to PAYLOAD bytes, open loop, at RATE lines/s in total for DURATION s.
 *   3. drain: keep receiving until DRAIN_QUIET_NS without a datagram (at
 *      most DRAIN_MAX_NS after the last send).
 * Every relayed line "<name> ~ T<ns>:<i>:..." counts as one delivery and
 * gives one latency sample (CLOCK_MONOTONIC, same host).
 *
 * Output: one JSON line on stdout, fields
 *   clients senders rate duration payload register_s join_msgs sent
 *   delivered expected loss deliveries_per_s elapsed_s self_echo other
 *   refused registered relay_cpu_s relay_ns_per_delivery core_busy_s
 *   core_ns_per_delivery
 *   p50_us p90_us p99_us p999_us max_us
 *
 * Build: gcc -O2 -Wall -Wextra -o /tmp/load bench/reference/load.c -lm
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RX_BATCH 64
#define RX_BUF 2048                /* longer datagrams are read truncated */
#define CLIENT_RCVBUF (1 << 20)
#define MAX_EVENTS 512
#define REG_WINDOW 64
#define REG_TRIES 50
#define REG_RETRY_NS 200000000ull  /* 200 ms */
#define QUIET_NS 1500000000ull     /* silence that ends registration: longer than the
                                    * once-a-second join summary of a relay that sums
                                    * notices up, so it is not sent (and charged) while
                                    * measuring */
#define REG_MAX_NS 120000000000ull /* registration gives up after 120 s */
#define DRAIN_QUIET_NS 500000000ull
#define DRAIN_MAX_NS 10000000000ull
#define MAX_LINE 2048

/* ---------- time ---------- */

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---------- latency histogram: log-linear, 1/64 relative resolution ---------- */

#define SUB_BITS 6
#define SUB (1u << SUB_BITS)     /* sub-buckets per power of two */
#define HIST_MAX_NS (1ull << 40) /* about 18 minutes; larger samples are clamped */
#define HIST_BUCKETS (2 * SUB + (40 - SUB_BITS) * SUB)

static uint64_t hist[HIST_BUCKETS];
static uint64_t hist_total, hist_max_ns;

/* Values below 2*SUB get a bucket each; above, each power of two [2^k, 2^(k+1))
 * is cut into SUB equal buckets. */
static unsigned bucket_of(uint64_t v)
{
    if (v < 2 * SUB)
        return (unsigned)v;
    unsigned top = 63 - (unsigned)__builtin_clzll(v); /* >= SUB_BITS + 1 */
    unsigned shift = top - SUB_BITS;
    return 2 * SUB + (shift - 1) * SUB + (unsigned)((v >> shift) - SUB);
}

/* Middle of a bucket's range [lo, hi). */
static double bucket_mid(unsigned b)
{
    if (b < 2 * SUB)
        return b;
    unsigned shift = (b - 2 * SUB) / SUB + 1;
    uint64_t mantissa = SUB + (b - 2 * SUB) % SUB;
    double lo = (double)(mantissa << shift), hi = (double)((mantissa + 1) << shift);
    return (lo + hi) / 2;
}

static void record_latency(uint64_t ns)
{
    if (ns > hist_max_ns)
        hist_max_ns = ns;
    if (ns >= HIST_MAX_NS)
        ns = HIST_MAX_NS - 1;
    hist[bucket_of(ns)]++;
    hist_total++;
}

/* The q-quantile (0 < q <= 1) in microseconds: the smallest bucket holding
 * the ceil(q * n)-th sample. */
static double quantile_us(double q)
{
    if (hist_total == 0)
        return 0;
    uint64_t rank = (uint64_t)ceil(q * (double)hist_total);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned b = 0; b < HIST_BUCKETS; b++) {
        seen += hist[b];
        if (seen >= rank)
            return bucket_mid(b) / 1e3;
    }
    return (double)hist_max_ns / 1e3;
}

/* ---------- relay CPU from /proc ---------- */

/* Time on CPU of all of `pid`'s threads in seconds, from each thread's
 * schedstat (the scheduler's nanosecond count; softirq work done in the
 * thread's context included), or -1 where schedstat is missing. Unlike
 * utime + stime, which are sampled at the timer tick, it does not alias with
 * a load as periodic as this driver's lines. */
static double process_runtime_s(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *dir = opendir(path);
    if (!dir)
        return -1;
    unsigned long long total = 0;
    int found = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char stat_path[64 + 256 + 16];
        snprintf(stat_path, sizeof stat_path, "%s/%s/schedstat", path, e->d_name);
        FILE *f = fopen(stat_path, "r");
        if (!f)
            continue;
        unsigned long long ns;
        if (fscanf(f, "%llu", &ns) == 1) {
            total += ns;
            found = 1;
        }
        fclose(f);
    }
    closedir(dir);
    return found ? (double)total / 1e9 : -1;
}

/* The relay's CPU time in seconds: process_runtime_s, else utime + stime;
 * 0 when unknown. */
static double process_cpu_s(int pid)
{
    if (pid <= 0)
        return 0;
    double runtime = process_runtime_s(pid);
    if (runtime >= 0)
        return runtime;
    char path[64], text[4096];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    /* The command name (field 2) may hold spaces and parentheses: fields are
     * counted from the last ')'. Field 3 follows it; utime is 14, stime 15. */
    char *p = strrchr(text, ')');
    if (!p)
        return 0;
    unsigned long long utime = 0, stime = 0;
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return 0;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* Busy seconds of CPU `core` (user, nice, system, irq, softirq: not idle,
 * iowait or steal) from /proc/stat, or 0 when `core` < 0 or unknown. */
static double core_busy_s(int core)
{
    if (core < 0)
        return 0;
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return 0;
    char want[32], line[512];
    snprintf(want, sizeof want, "cpu%d ", core);
    double busy = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, want, strlen(want)) != 0)
            continue;
        unsigned long long user, nice, sys, idle, iowait, irq, softirq;
        if (sscanf(line + strlen(want), "%llu %llu %llu %llu %llu %llu %llu", &user, &nice, &sys, &idle, &iowait, &irq, &softirq) == 7)
            busy = (double)(user + nice + sys + irq + softirq) / (double)sysconf(_SC_CLK_TCK);
        break;
    }
    fclose(f);
    return busy;
}

/* ---------- sockets ---------- */

static int nclients, nsenders;
static int *sock_of;       /* client index -> fd */
static int epfd;

static char rx_buf[RX_BATCH][RX_BUF];
static struct iovec rx_iov[RX_BATCH];
static struct mmsghdr rx_hdr[RX_BATCH];
static struct epoll_event events[MAX_EVENTS];

static uint64_t refused;   /* sends that failed */

static void raise_fd_limit(int needed)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)needed) {
        rl.rlim_cur = (rlim_t)needed < rl.rlim_max ? (rlim_t)needed : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int open_clients(const struct sockaddr_in *relay)
{
    raise_fd_limit(nclients + 64);
    sock_of = calloc((size_t)nclients, sizeof *sock_of);
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!sock_of || epfd < 0) {
        perror("setup");
        return -1;
    }
    for (int i = 0; i < nclients; i++) {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            perror("socket");
            return -1;
        }
        int size = CLIENT_RCVBUF;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        /* connect: the kernel picks the local address and port, and only the
         * relay's datagrams reach this socket. */
        if (connect(fd, (const struct sockaddr *)relay, sizeof *relay) < 0) {
            perror("connect");
            return -1;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            perror("epoll_ctl");
            return -1;
        }
        sock_of[i] = fd;
    }
    for (int i = 0; i < RX_BATCH; i++) {
        rx_iov[i].iov_base = rx_buf[i];
        rx_iov[i].iov_len = RX_BUF - 1; /* room for a terminating NUL */
        rx_hdr[i].msg_hdr.msg_iov = &rx_iov[i];
        rx_hdr[i].msg_hdr.msg_iovlen = 1;
    }
    return 0;
}

static void send_line(int client, const char *line, size_t len)
{
    if (send(sock_of[client], line, len, 0) < 0)
        refused++;
}

/* Calls on_datagram(client, text, len, when) for every datagram readable
 * within timeout_ms (-1: wait forever, 0: poll). Returns how many. */
typedef void (*datagram_fn)(int client, char *text, size_t len, uint64_t when);

static uint64_t receive(int timeout_ms, datagram_fn on_datagram)
{
    uint64_t count = 0;
    int n = epoll_wait(epfd, events, MAX_EVENTS, timeout_ms);
    for (int e = 0; e < n; e++) {
        int client = (int)events[e].data.u32;
        for (;;) {
            int got = recvmmsg(sock_of[client], rx_hdr, RX_BATCH, MSG_DONTWAIT, NULL);
            if (got <= 0)
                break; /* EAGAIN, or an ICMP error that this call consumed */
            uint64_t when = mono_ns();
            for (int m = 0; m < got; m++) {
                size_t len = rx_hdr[m].msg_len;
                rx_buf[m][len] = '\0';
                on_datagram(client, rx_buf[m], len, when);
            }
            count += (uint64_t)got;
            if (got < RX_BATCH)
                break; /* queue emptied: save the EAGAIN round trip */
        }
    }
    return count;
}

/* ---------- phase 1: registration ---------- */

static char *registered; /* per client: own join notice seen */
static int registered_count;

static const char JOIN_HEAD[] = "[SERVER] c";
static const char JOIN_TAIL[] = " has joined the chat.";

static void on_registration_datagram(int client, char *text, size_t len, uint64_t when)
{
    (void)when;
    if (registered[client] || len < sizeof JOIN_HEAD - 1 + sizeof JOIN_TAIL - 1)
        return;
    if (memcmp(text, JOIN_HEAD, sizeof JOIN_HEAD - 1) != 0)
        return;
    char *end;
    long who = strtol(text + sizeof JOIN_HEAD - 1, &end, 10);
    if (who == client && strcmp(end, JOIN_TAIL) == 0) {
        registered[client] = 1;
        registered_count++;
    }
}

static void send_name(int client)
{
    char name[24];
    int len = snprintf(name, sizeof name, "c%d", client);
    send_line(client, name, (size_t)len);
}

/* Registers every client; returns the number of datagrams received. */
static uint64_t register_all(uint64_t started)
{
    struct pending {
        int client, tries;
        uint64_t sent_at;
    } window[REG_WINDOW];
    int in_window = 0, next = 0;
    uint64_t received = 0;
    registered = calloc((size_t)nclients, 1);

    while ((next < nclients || in_window > 0) && mono_ns() - started < REG_MAX_NS) {
        /* Retire the answered and the hopeless; top the window up. */
        for (int w = 0; w < in_window;) {
            struct pending *p = &window[w];
            if (registered[p->client] || p->tries >= REG_TRIES)
                window[w] = window[--in_window];
            else
                w++;
        }
        while (in_window < REG_WINDOW && next < nclients)
            window[in_window++] = (struct pending){.client = next++, .tries = 0, .sent_at = 0};

        uint64_t now = mono_ns();
        for (int w = 0; w < in_window; w++) {
            struct pending *p = &window[w];
            /* Back off (200 ms, 400 ms, ... up to 3.2 s): a relay that is
             * slow rather than lossy is not buried under repeated names,
             * each of which it would relay to everyone as a chat line. */
            unsigned doubling = p->tries < 5 ? (unsigned)p->tries : 5;
            if (p->tries == 0 || now - p->sent_at >= (REG_RETRY_NS << doubling) / 2) {
                send_name(p->client);
                p->tries++;
                p->sent_at = now;
            }
        }
        received += receive(5, on_registration_datagram);
    }

    /* Let the tail of the join fan-out arrive before timing anything. */
    uint64_t last = mono_ns();
    while (mono_ns() - last < QUIET_NS && mono_ns() - started < REG_MAX_NS) {
        uint64_t got = receive(10, on_registration_datagram);
        if (got) {
            received += got;
            last = mono_ns();
        }
    }
    return received;
}

/* ---------- phases 2 and 3: timed sending, drain ---------- */

static uint64_t delivered, self_echoes, others, last_rx_ns;

static const char MARK[] = " ~ T";

static void on_run_datagram(int client, char *text, size_t len, uint64_t when)
{
    last_rx_ns = when;
    char *mark = memmem(text, len, MARK, sizeof MARK - 1);
    if (!mark) {
        others++;
        return;
    }
    char *p = mark + sizeof MARK - 1;
    uint64_t stamp = 0;
    while (*p >= '0' && *p <= '9')
        stamp = stamp * 10 + (uint64_t)(*p++ - '0');
    if (*p == ':' && atoi(p + 1) == client)
        self_echoes++;
    delivered++;
    record_latency(when > stamp ? when - stamp : 0);
}

/* Sends RATE lines/s in total for DURATION s; returns how many were sent. */
static uint64_t run(double rate, double duration, int payload, uint64_t *t_start)
{
    static char line[MAX_LINE];
    memset(line, 'x', sizeof line);
    if (payload > MAX_LINE)
        payload = MAX_LINE;

    uint64_t sent = 0;
    int turn = 0;
    uint64_t t0 = mono_ns();
    uint64_t t_end = t0 + (uint64_t)(duration * 1e9);
    last_rx_ns = t0;
    *t_start = t0;

    for (;;) {
        uint64_t now = mono_ns();
        if (now < t_end) {
            /* Open loop: lines due by now, whatever the relay is doing. */
            uint64_t due = (uint64_t)((double)(now - t0) * rate / 1e9);
            for (; sent < due; sent++) {
                int len = snprintf(line, sizeof line, "T%" PRIu64 ":%d:", mono_ns(), turn);
                if (len < payload) {
                    line[len] = 'x'; /* snprintf's NUL becomes padding */
                    len = payload;
                }
                send_line(turn, line, (size_t)len);
                turn = turn + 1 == nsenders ? 0 : turn + 1;
            }
        } else if (now - last_rx_ns > DRAIN_QUIET_NS || now - t_end > DRAIN_MAX_NS) {
            break;
        }
        receive(1, on_run_datagram);
    }
    return sent;
}

/* ---------- main ---------- */

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: %s HOST PORT CLIENTS SENDERS RATE DURATION [PAYLOAD]\n", argv[0]);
        return 2;
    }
    struct sockaddr_in relay = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    if (inet_pton(AF_INET, argv[1], &relay.sin_addr) != 1) {
        fprintf(stderr, "load: HOST must be an IPv4 address, not %s\n", argv[1]);
        return 2;
    }
    nclients = atoi(argv[3]);
    nsenders = atoi(argv[4]);
    double rate = atof(argv[5]);
    double duration = atof(argv[6]);
    int payload = argc > 7 ? atoi(argv[7]) : 32;
    if (nclients < 1 || nsenders < 1 || rate < 0 || duration < 0) {
        fprintf(stderr, "load: CLIENTS and SENDERS must be at least 1, RATE and DURATION not negative\n");
        return 2;
    }
    if (nsenders > nclients)
        nsenders = nclients;
    const char *pid_text = getenv("RELAY_PID");
    int relay_pid = pid_text ? atoi(pid_text) : 0;
    const char *core_text = getenv("RELAY_CORE");
    int relay_core = core_text ? atoi(core_text) : -1;

    if (open_clients(&relay) < 0)
        return 1;

    uint64_t started = mono_ns();
    uint64_t join_msgs = register_all(started);

    double cpu_before = process_cpu_s(relay_pid);
    double core_before = core_busy_s(relay_core);
    uint64_t t0;
    uint64_t sent = run(rate, duration, payload, &t0);
    double relay_cpu = process_cpu_s(relay_pid) - cpu_before;
    double core_busy = core_busy_s(relay_core) - core_before;

    /* Registration time excludes the closing quiet wait: sending began
     * register_s + QUIET_NS after start. */
    double register_s = (double)(t0 - started) / 1e9 - (double)QUIET_NS / 1e9;
    double elapsed = last_rx_ns > t0 ? (double)(last_rx_ns - t0) / 1e9 : duration;
    if (elapsed < duration)
        elapsed = duration;
    /* Whether the relay echoes to the sender decides what full delivery is. */
    double expected = (double)sent * (self_echoes ? nclients : nclients - 1);
    double loss = expected > 0 ? 1.0 - (double)delivered / expected : 0.0;

    printf("{\"clients\":%d,\"senders\":%d,\"rate\":%.0f,\"duration\":%.1f,\"payload\":%d,"
           "\"register_s\":%.3f,\"join_msgs\":%" PRIu64 ",\"sent\":%" PRIu64 ",\"delivered\":%" PRIu64 ","
           "\"expected\":%.0f,\"loss\":%.5f,\"deliveries_per_s\":%.0f,\"elapsed_s\":%.2f,"
           "\"self_echo\":%s,\"other\":%" PRIu64 ",\"refused\":%" PRIu64 ",\"registered\":%d,"
           "\"relay_cpu_s\":%.2f,\"relay_ns_per_delivery\":%.0f,"
           "\"core_busy_s\":%.2f,\"core_ns_per_delivery\":%.0f,"
           "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f}\n",
           nclients, nsenders, rate, duration, payload,
           register_s, join_msgs, sent, delivered,
           expected, loss, elapsed > 0 ? (double)delivered / elapsed : 0.0, elapsed,
           self_echoes ? "true" : "false", others, refused, registered_count,
           relay_cpu, delivered ? relay_cpu * 1e9 / (double)delivered : 0.0,
           core_busy, delivered ? core_busy * 1e9 / (double)delivered : 0.0,
           quantile_us(0.50), quantile_us(0.90), quantile_us(0.99), quantile_us(0.999),
           (double)hist_max_ns / 1e3);
    return 0;
}
