/* gen_corpus.c - writes the hand-made seed corpus of the wsdx fuzz targets.
 *
 *   cc -o gen_corpus native/fuzz/gen_corpus.c && ./gen_corpus native/fuzz/corpus
 *
 * creates <dir>/fuzz_frame/<name> and <dir>/fuzz_conn/<name>. The input
 * formats are described at the top of fuzz_frame.c and fuzz_conn.c. run.sh
 * regenerates the corpus into a temporary copy, so the files in the
 * repository only need refreshing (run this) when the seeds change.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    uint8_t b[16384];
    size_t n;
} buf;

static void put(buf *o, const void *p, size_t n)
{
    if (o->n + n > sizeof o->b) {
        fprintf(stderr, "gen_corpus: seed too big\n");
        exit(1);
    }
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

static void byte(buf *o, uint8_t v) { put(o, &v, 1); }

static void be32(buf *o, uint32_t v)
{
    uint8_t p[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    put(o, p, 4);
}

/* A frame header and (up to) len payload bytes of a repeating pattern. */
static void frame(buf *o, uint8_t type, uint32_t len, size_t body)
{
    byte(o, type);
    be32(o, len);
    for (size_t i = 0; i < body; i++)
        byte(o, (uint8_t)('a' + i % 26));
}

static const char *out_dir;

static void save(const char *target, const char *name, const buf *o)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", out_dir, target);
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/%s", out_dir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(o->b, 1, o->n, f) != o->n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* ---------------------------------------------------------- fuzz_frame */

static const uint8_t EXAMPLE_PREAMBLE[8] = {0x57, 0x53, 0x44, 0x58, 0x01, 0x02, 0x00, 0x00};
static const uint8_t EXAMPLE_FRAMES[] = {
    0x01, 0x00, 0x00, 0x00, 0x02, 0x68, 0x69,                               /* DATA "hi" */
    0x02, 0x00, 0x00, 0x00, 0x08, 0, 0, 0, 0, 0, 0, 0, 0x07,                /* DISCONNECT */
};

/* fuzz_frame input: [K][K split sizes][stream] */
static void frame_seed(const char *name, const uint8_t *splits, size_t k, const buf *stream)
{
    buf o = {.n = 0};
    byte(&o, (uint8_t)k);
    put(&o, splits, k);
    put(&o, stream->b, stream->n);
    save("fuzz_frame", name, &o);
}

static void frame_seeds(void)
{
    static const uint8_t one[] = {1}, mixed[] = {3, 0, 7, 1, 2}, five[] = {5};
    buf s = {.n = 0};

    put(&s, EXAMPLE_FRAMES, sizeof EXAMPLE_FRAMES);
    frame_seed("example_oneshot", NULL, 0, &s);
    frame_seed("example_bytewise", one, 1, &s);
    frame_seed("example_mixed_splits", mixed, sizeof mixed, &s);

    s.n = 0; /* the whole protocol.md example, preamble included */
    put(&s, EXAMPLE_PREAMBLE, 8);
    put(&s, EXAMPLE_FRAMES, sizeof EXAMPLE_FRAMES);
    frame_seed("example_with_preamble", five, 1, &s);

    s.n = 0;
    put(&s, EXAMPLE_PREAMBLE, 8);
    s.b[4] = 0x02; /* a future version */
    frame_seed("preamble_future_version", NULL, 0, &s);

    s.n = 0;
    put(&s, "GET / HTTP/1.1\r\n\r\n", 18); /* not a wsdx peer */
    frame_seed("http_request", NULL, 0, &s);

    s.n = 0;
    frame(&s, 0x01, 3, 3);
    frame(&s, 0x01, 0, 0);
    frame(&s, 0x01, 300, 300);
    frame(&s, 0x02, 0, 0);
    frame_seed("stream_then_empty_disconnect", mixed, sizeof mixed, &s);

    s.n = 0;
    frame(&s, 0x01, 10, 4);
    frame_seed("truncated_payload", NULL, 0, &s);
    s.n = 0;
    frame(&s, 0x01, 10, 10);
    byte(&s, 0x01);
    byte(&s, 0x00);
    frame_seed("truncated_header", one, 1, &s);
    s.n = 0;
    frame(&s, 0x02, 8, 5);
    frame_seed("truncated_disconnect", NULL, 0, &s);

    s.n = 0;
    frame(&s, 0x01, 0xffffffffu, 0);
    frame_seed("data_len_2p32_minus_1", NULL, 0, &s);
    s.n = 0;
    frame(&s, 0x01, 16u * 1024 * 1024 + 1, 0);
    frame_seed("data_len_max_plus_1", NULL, 0, &s);
    s.n = 0;
    frame(&s, 0x01, 16u * 1024 * 1024, 16);
    frame_seed("data_len_max_partial", one, 1, &s);
    s.n = 0;
    frame(&s, 0x02, 4097, 0);
    frame_seed("disconnect_len_max_plus_1", NULL, 0, &s);
    s.n = 0;
    frame(&s, 0x02, 4096, 4096);
    frame_seed("disconnect_len_max", NULL, 0, &s);

    s.n = 0;
    frame(&s, 0x01, 2, 2);
    frame(&s, 0x02, 8, 8);
    put(&s, "trailing", 8);
    frame_seed("bytes_after_disconnect", NULL, 0, &s);
    s.n = 0;
    frame(&s, 0x02, 0, 0);
    frame(&s, 0x02, 0, 0);
    frame_seed("two_disconnects", one, 1, &s);

    s.n = 0;
    frame(&s, 0x03, 1, 1);
    frame_seed("unknown_type_3", NULL, 0, &s);
    s.n = 0;
    frame(&s, 0x00, 0, 0);
    frame_seed("unknown_type_0", NULL, 0, &s);
}

/* ----------------------------------------------------------- fuzz_conn */

/* fuzz_conn ops (op byte % 13), see fuzz_conn.c */
enum { OP_RECV = 0, OP_SHUTDOWN = 1, OP_SEND_DISC = 2, OP_RECV_DISC = 3, OP_SEND_CHECK = 4,
       OP_TAKE_CLOSE = 5, OP_RAW = 6, OP_FRAME = 8, OP_EOF = 10, OP_FAIL = 11, OP_ESTABLISH = 12 };

static void op_recv(buf *o, uint16_t len) { byte(o, OP_RECV); byte(o, 0x80); byte(o, (uint8_t)(len >> 8)); byte(o, (uint8_t)len); }
static void op_raw(buf *o, const buf *bytes) /* chunks of <= 127 bytes */
{
    for (size_t off = 0; off < bytes->n;) {
        size_t n = bytes->n - off > 127 ? 127 : bytes->n - off;
        byte(o, OP_RAW);
        byte(o, (uint8_t)n);
        put(o, bytes->b + off, n);
        off += n;
    }
}
static void op_recv_disc(buf *o, uint16_t cap)
{
    byte(o, OP_RECV_DISC);
    byte(o, 0xff); /* not a special length: u16 follows */
    byte(o, (uint8_t)(cap >> 8));
    byte(o, (uint8_t)cap);
    byte(o, 1); /* a real buffer */
}
static void op_send_disc(buf *o, uint8_t special) { byte(o, OP_SEND_DISC); byte(o, special); byte(o, 1); }
static void op(buf *o, uint8_t v) { byte(o, v); }
static void op_arg(buf *o, uint8_t v, uint8_t a) { byte(o, v); byte(o, a); }

static void conn_seeds(void)
{
    for (int message = 0; message <= 1; message++) {
        const char *m = message ? "message" : "stream";
        char name[128];
        buf o, w;

        /* the protocol.md example: data, disconnect data, FIN */
        o.n = 0;
        byte(&o, (uint8_t)message);
        w.n = 0;
        put(&w, EXAMPLE_FRAMES, sizeof EXAMPLE_FRAMES);
        op_raw(&o, &w);
        op(&o, OP_TAKE_CLOSE);
        op_recv(&o, 1);
        op_recv(&o, 100);
        op(&o, OP_EOF);
        op(&o, OP_TAKE_CLOSE);
        op_recv(&o, 100);
        op_recv_disc(&o, 4);
        op_recv_disc(&o, 8);
        op_recv(&o, 100);
        snprintf(name, sizeof name, "%s_example", m);
        save("fuzz_conn", name, &o);

        /* a FIN in the middle of a frame */
        o.n = 0;
        byte(&o, (uint8_t)message);
        w.n = 0;
        frame(&w, 0x01, 50, 20);
        op_raw(&o, &w);
        op(&o, OP_EOF);
        op(&o, OP_TAKE_CLOSE);
        op_recv(&o, 100);
        snprintf(name, sizeof name, "%s_fin_mid_frame", m);
        save("fuzz_conn", name, &o);

        /* a reset in the middle of a frame, unread data */
        o.n = 0;
        byte(&o, (uint8_t)message);
        w.n = 0;
        frame(&w, 0x01, 5, 5);
        frame(&w, 0x01, 50, 20);
        op_raw(&o, &w);
        op_arg(&o, OP_FAIL, 0);
        op_recv(&o, 100);
        op(&o, OP_TAKE_CLOSE);
        op(&o, OP_TAKE_CLOSE);
        snprintf(name, sizeof name, "%s_reset_mid_frame", m);
        save("fuzz_conn", name, &o);

        /* length 2^32-1 and an oversized disconnect frame */
        o.n = 0;
        byte(&o, (uint8_t)message);
        op_arg(&o, OP_FRAME, 0x1e); /* DATA, len 0xffffffff */
        op_recv(&o, 10);
        op(&o, OP_TAKE_CLOSE);
        snprintf(name, sizeof name, "%s_len_2p32_minus_1", m);
        save("fuzz_conn", name, &o);
        o.n = 0;
        byte(&o, (uint8_t)message);
        op_arg(&o, OP_FRAME, 0x0f); /* DISCONNECT, len 4097 */
        op(&o, OP_TAKE_CLOSE);
        op_recv_disc(&o, 4096);
        snprintf(name, sizeof name, "%s_disconnect_oversized", m);
        save("fuzz_conn", name, &o);

        /* bytes after DISCONNECT */
        o.n = 0;
        byte(&o, (uint8_t)message);
        w.n = 0;
        frame(&w, 0x02, 3, 3);
        put(&w, "xyz", 3);
        op_raw(&o, &w);
        op(&o, OP_TAKE_CLOSE);
        op_recv_disc(&o, 16);
        snprintf(name, sizeof name, "%s_bytes_after_disconnect", m);
        save("fuzz_conn", name, &o);

        /* a disconnect frame split in two, read half way (F2) */
        o.n = 0;
        byte(&o, (uint8_t)message);
        w.n = 0;
        frame(&w, 0x02, 8, 3);
        op_raw(&o, &w);
        op_recv_disc(&o, 16);
        w.n = 0;
        put(&w, "defgh", 5);
        op_raw(&o, &w);
        op(&o, OP_EOF);
        op(&o, OP_TAKE_CLOSE);
        snprintf(name, sizeof name, "%s_disconnect_split", m);
        save("fuzz_conn", name, &o);

        /* half-close both ways, then keep going; bad how values */
        o.n = 0;
        byte(&o, (uint8_t)message);
        op_arg(&o, OP_SHUTDOWN, 1);
        op(&o, OP_SEND_CHECK);
        op_send_disc(&o, 3); /* len 0 */
        op_arg(&o, OP_SHUTDOWN, 3); /* invalid how */
        op_arg(&o, OP_SHUTDOWN, 0xff); /* how -1 */
        w.n = 0;
        frame(&w, 0x01, 4, 4);
        op_raw(&o, &w);
        op_recv(&o, 2);
        op_arg(&o, OP_SHUTDOWN, 0);
        op_raw(&o, &w);
        op_recv(&o, 2);
        op(&o, OP_EOF);
        op(&o, OP_TAKE_CLOSE);
        snprintf(name, sizeof name, "%s_half_close_keep_sending", m);
        save("fuzz_conn", name, &o);

        /* send_disconnect with bad lengths; not connected yet */
        o.n = 0;
        byte(&o, (uint8_t)(message | 0x02));
        op_send_disc(&o, 0); /* -1 */
        op_recv(&o, 1);
        op_arg(&o, OP_ESTABLISH, 1);
        op_send_disc(&o, 6); /* 4097 */
        op_send_disc(&o, 7); /* INT_MAX */
        op_send_disc(&o, 2); /* INT_MIN */
        op_send_disc(&o, 5); /* 4096 */
        op_send_disc(&o, 3);
        snprintf(name, sizeof name, "%s_send_disconnect_lengths", m);
        save("fuzz_conn", name, &o);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus <dir>\n");
        return 2;
    }
    out_dir = argv[1];
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        perror(out_dir);
        return 1;
    }
    frame_seeds();
    conn_seeds();
    return 0;
}
