/*
 * relay.c - the chat relay's wire protocol at the lowest user-space cost Linux
 * offers, used as a measuring stick (see README.md). Not part of the product.
 *
 *   usage: relay [PORT]        (default 65432; listens on 127.0.0.1 only)
 *   env:   REFERENCE_JOINS=joiner  a join is announced to the joiner alone: a
 *          measuring aid (registering 10 000 clients otherwise costs 50 M
 *          notices before anything is measured); not the protocol
 *
 * Protocol, over plain UTF-8 text datagrams (nothing appended, no newline):
 *   - an unknown address's first datagram is its name; everyone registered,
 *     the newcomer included, receives "[SERVER] <name> has joined the chat."
 *   - every later datagram from that address reaches everyone registered,
 *     the sender included, as "<name> ~ <text>"
 *   - SIGINT: everyone receives "[SERVER] Server is shutting down.", then the
 *     socket is closed and the process exits with status 0.
 *
 * Cost model: one recvmmsg per batch of up to RX_BATCH datagrams, one
 * sendmmsg per TX_BATCH recipients of a fan-out, nothing allocated after
 * start-up. Every client owns a message header built once at registration
 * (pointing at its address and at the one shared iovec), so a fan-out only
 * points that iovec at the outgoing bytes and hands a slice of the header
 * array to the kernel. Addresses are found through an open-addressing table.
 *
 * Build: gcc -O2 -Wall -Wextra -o /tmp/relay bench/reference/relay.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEFAULT_PORT 65432
#define MAX_CLIENTS 65536           /* later newcomers are ignored */
#define TABLE_SLOTS (2 * MAX_CLIENTS) /* power of two, load factor <= 1/2 */
#define NAME_MAX_BYTES 63           /* longer names are cut at a UTF-8 boundary */
#define RX_BATCH 64                 /* datagrams per recvmmsg */
#define TX_BATCH 1024               /* recipients per sendmmsg (kernel UIO_MAXIOV) */
#define MAX_DATAGRAM 65507          /* largest UDP payload over IPv4 */
#define SOCKET_BUFFER (4 << 20)     /* SO_RCVBUF and SO_SNDBUF asked for */

static const char JOIN_PREFIX[] = "[SERVER] ";
static const char JOIN_SUFFIX[] = " has joined the chat.";
static const char SEPARATOR[] = " ~ ";
static const char SHUTDOWN_NOTICE[] = "[SERVER] Server is shutting down.";

struct client {
    uint8_t name_len;
    char name[NAME_MAX_BYTES];
};

/* Client i: address, name and prebuilt send header share the index i. */
static struct sockaddr_in peer_addr[MAX_CLIENTS];
static struct client peer[MAX_CLIENTS];
static struct mmsghdr peer_hdr[MAX_CLIENTS];
static uint32_t client_count;

/* Open addressing, linear probing; a slot holds client index + 1, 0 = empty. */
static uint32_t table[TABLE_SLOTS];

/* The single iovec every send header points at; aimed at each outgoing line. */
static struct iovec out_iov;
static char out_line[MAX_DATAGRAM];

/* Receive side: RX_BATCH buffers large enough for any IPv4 datagram. */
static char rx_buf[RX_BATCH][65536];
static struct sockaddr_in rx_from[RX_BATCH];
static struct iovec rx_iov[RX_BATCH];
static struct mmsghdr rx_hdr[RX_BATCH];

static int sock = -1;
static int joins_to_joiner; /* REFERENCE_JOINS=joiner */
static int wake_pipe[2] = {-1, -1}; /* written by the SIGINT handler */
static volatile sig_atomic_t stop_requested;

static uint64_t addr_key(const struct sockaddr_in *a)
{
    return ((uint64_t)a->sin_addr.s_addr << 16) | a->sin_port;
}

static uint32_t key_slot(uint64_t key)
{
    /* Fibonacci hashing: multiply, keep the top bits. */
    return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 47) & (TABLE_SLOTS - 1);
}

/* The slot holding the client at `a`, or the empty slot where it belongs. */
static uint32_t lookup(const struct sockaddr_in *a)
{
    uint64_t key = addr_key(a);
    uint32_t s = key_slot(key);
    while (table[s] != 0 && addr_key(&peer_addr[table[s] - 1]) != key)
        s = (s + 1) & (TABLE_SLOTS - 1);
    return s;
}

/* Length of at most `max` leading bytes of s that ends on a UTF-8 boundary. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--; /* s[n] would be a continuation byte: back off to its lead */
    return n;
}

static int add_client(const struct sockaddr_in *from, uint32_t slot, const char *name, size_t len)
{
    if (client_count >= MAX_CLIENTS)
        return -1;
    uint32_t i = client_count++;
    peer_addr[i] = *from;
    peer[i].name_len = (uint8_t)utf8_cut(name, len, NAME_MAX_BYTES);
    memcpy(peer[i].name, name, peer[i].name_len);

    struct msghdr *h = &peer_hdr[i].msg_hdr;
    memset(h, 0, sizeof *h);
    h->msg_name = &peer_addr[i];
    h->msg_namelen = sizeof peer_addr[i];
    h->msg_iov = &out_iov;
    h->msg_iovlen = 1;

    table[slot] = i + 1;
    return (int)i;
}

/* Blocks until the socket can take more datagrams. */
static void wait_writable(void)
{
    struct pollfd p = {.fd = sock, .events = POLLOUT};
    while (poll(&p, 1, -1) < 0 && errno == EINTR)
        ;
}

/* Sends out_line[0..len) to every registered client. */
static void fan_out(size_t len)
{
    out_iov.iov_base = out_line;
    out_iov.iov_len = len;
    uint32_t done = 0, total = client_count;
    while (done < total) {
        uint32_t want = total - done < TX_BATCH ? total - done : TX_BATCH;
        int n = sendmmsg(sock, &peer_hdr[done], want, MSG_DONTWAIT);
        if (n > 0) {
            done += (uint32_t)n; /* a short count: resume at the first unsent one */
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            wait_writable();
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            done++; /* this recipient cannot be sent to (e.g. EPERM): skip it */
        }
    }
}

static void announce_join(const struct client *c)
{
    size_t n = 0;
    memcpy(out_line + n, JOIN_PREFIX, sizeof JOIN_PREFIX - 1);
    n += sizeof JOIN_PREFIX - 1;
    memcpy(out_line + n, c->name, c->name_len);
    n += c->name_len;
    memcpy(out_line + n, JOIN_SUFFIX, sizeof JOIN_SUFFIX - 1);
    n += sizeof JOIN_SUFFIX - 1;
    if (!joins_to_joiner) {
        fan_out(n);
        return;
    }
    out_iov.iov_base = out_line;
    out_iov.iov_len = n;
    if (sendmmsg(sock, &peer_hdr[c - peer], 1, MSG_DONTWAIT) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        wait_writable();
        sendmmsg(sock, &peer_hdr[c - peer], 1, MSG_DONTWAIT);
    }
}

static void relay_text(const struct client *c, const char *text, size_t len)
{
    size_t head = c->name_len + sizeof SEPARATOR - 1;
    if (head + len > MAX_DATAGRAM)
        return; /* cannot fit in one datagram with its prefix: dropped */
    memcpy(out_line, c->name, c->name_len);
    memcpy(out_line + c->name_len, SEPARATOR, sizeof SEPARATOR - 1);
    memcpy(out_line + head, text, len);
    fan_out(head + len);
}

static void handle(const struct sockaddr_in *from, const char *data, size_t len)
{
    uint32_t slot = lookup(from);
    if (table[slot] != 0) {
        relay_text(&peer[table[slot] - 1], data, len);
        return;
    }
    int c = add_client(from, slot, data, len);
    if (c >= 0)
        announce_join(&peer[c]);
}

static void on_sigint(int sig)
{
    (void)sig;
    int saved = errno;
    stop_requested = 1;
    ssize_t w = write(wake_pipe[1], "", 1); /* wakes a sleeping poll */
    (void)w;
    errno = saved;
}

static void setup_rx(void)
{
    for (int i = 0; i < RX_BATCH; i++) {
        rx_iov[i].iov_base = rx_buf[i];
        rx_iov[i].iov_len = sizeof rx_buf[i];
        memset(&rx_hdr[i], 0, sizeof rx_hdr[i]);
        rx_hdr[i].msg_hdr.msg_iov = &rx_iov[i];
        rx_hdr[i].msg_hdr.msg_iovlen = 1;
        rx_hdr[i].msg_hdr.msg_name = &rx_from[i];
    }
}

static int parse_port(int argc, char **argv)
{
    if (argc < 2)
        return DEFAULT_PORT;
    char *end;
    errno = 0;
    long p = strtol(argv[1], &end, 10);
    if (errno || end == argv[1] || *end || p < 0 || p > 65535)
        return -1;
    return (int)p;
}

int main(int argc, char **argv)
{
    int port = parse_port(argc, argv);
    const char *joins = getenv("REFERENCE_JOINS");
    joins_to_joiner = joins != NULL && strcmp(joins, "joiner") == 0;
    if (port < 0) {
        fprintf(stderr, "usage: %s [PORT]\n", argv[0]);
        return 2;
    }

    sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) {
        perror("socket");
        return 1;
    }
    int size = SOCKET_BUFFER;
    setsockopt(sock, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    setsockopt(sock, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);

    struct sockaddr_in here = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    here.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(sock, (struct sockaddr *)&here, sizeof here) < 0) {
        perror("bind");
        return 1;
    }
    socklen_t here_len = sizeof here;
    getsockname(sock, (struct sockaddr *)&here, &here_len); /* the real port if 0 was asked */

    if (pipe2(wake_pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
        perror("pipe2");
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint; /* no SA_RESTART: blocking calls return EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);

    setup_rx();
    printf("[SERVER] Running on 127.0.0.1:%d\n", ntohs(here.sin_port));
    fflush(stdout);

    struct pollfd wait_for[2] = {
        {.fd = sock, .events = POLLIN},
        {.fd = wake_pipe[0], .events = POLLIN},
    };
    while (!stop_requested) {
        for (int i = 0; i < RX_BATCH; i++)
            rx_hdr[i].msg_hdr.msg_namelen = sizeof rx_from[i];
        int n = recvmmsg(sock, rx_hdr, RX_BATCH, MSG_DONTWAIT, NULL);
        if (n < 0) {
            /* Nothing queued: sleep until a datagram or SIGINT. A signal that
             * lands before poll is seen through the pipe, so none is missed. */
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                poll(wait_for, 2, -1);
            continue;
        }
        for (int i = 0; i < n; i++)
            handle(&rx_from[i], rx_buf[i], rx_hdr[i].msg_len);
    }

    memcpy(out_line, SHUTDOWN_NOTICE, sizeof SHUTDOWN_NOTICE - 1);
    fan_out(sizeof SHUTDOWN_NOTICE - 1);
    close(sock);
    return 0;
}
