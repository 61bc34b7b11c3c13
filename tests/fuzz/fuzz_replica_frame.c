/*
 * Fuzz target: the stream message frame of examples/replica (replica_core.h:
 * rc_frame_split, rc_frame_encode, rc_frame_size), which decodes bytes any
 * publisher on the ledger stream controls.
 * Invariants, on the input as a stream message:
 *   - rc_frame_split gives 1..RC_FRAME_MAX_ITEMS items, every op and
 *     attachment inside the message; an attachment of length 0 is NULL;
 *   - a frame (a first item that is not the whole message): the input starts
 *     with RC_FRAME_MAGIC, the items lie back to back behind their length
 *     fields and end at the message's end, and rc_frame_encode of the items
 *     gives back the message byte for byte (rc_frame_size its length);
 *   - otherwise one item, the whole message, no attachment, and an
 *     independent reading of the frame format in this file finds no frame.
 * Then the input is cut into items (a count, then per item one length byte
 * and the op, one length byte and the attachment): their frame splits back
 * into the same items, and encoding into a buffer one byte short answers
 * CA_ERR_BUFFER_TOO_SMALL with the size.
 */
#include <string.h>

#include "fuzz.h"
#include "replica_core.h"

static rc_item items[RC_FRAME_MAX_ITEMS + 1], back[RC_FRAME_MAX_ITEMS];
static uint8_t enc[(1u << 17) + 3 + 8 * RC_FRAME_MAX_ITEMS];

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The format read again, independently: 1 if msg is a well-formed frame. */
static int ref_is_frame(const uint8_t *msg, size_t len)
{
    if (len < 3 || msg[0] != 0xC1)
        return 0;
    uint32_t count = (uint32_t)msg[1] << 8 | msg[2];
    if (count == 0 || count > RC_FRAME_MAX_ITEMS)
        return 0;
    uint64_t off = 3;
    for (uint32_t i = 0; i < 2 * count; i++) { /* an op, then its attachment */
        if (len < off + 4)
            return 0;
        off += 4 + (uint64_t)be32(msg + off);
        if (off > len)
            return 0;
    }
    return off == len;
}

static int inside(const uint8_t *msg, size_t len, const uint8_t *p, size_t n)
{
    return n == 0 || (p != NULL && p >= msg && n <= len && (size_t)(p - msg) <= len - n);
}

static void check_split(const uint8_t *data, size_t size)
{
    size_t n = rc_frame_split(data, size, items);
    FUZZ_CHECK(n >= 1 && n <= RC_FRAME_MAX_ITEMS);
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(inside(data, size, items[i].op, items[i].op_len));
        FUZZ_CHECK(inside(data, size, items[i].att, items[i].att_len));
        FUZZ_CHECK((items[i].att == NULL) == (items[i].att_len == 0));
    }
    int whole = n == 1 && items[0].op == data && items[0].op_len == size;
    FUZZ_CHECK(whole == !ref_is_frame(data, size));
    if (whole) {
        FUZZ_CHECK(items[0].att == NULL && items[0].att_len == 0);
        return;
    }
    FUZZ_CHECK(data[0] == RC_FRAME_MAGIC && (size_t)(data[1] << 8 | data[2]) == n);
    size_t off = 3;
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(items[i].op == data + off + 4 && be32(data + off) == items[i].op_len);
        off += 4 + items[i].op_len;
        FUZZ_CHECK(be32(data + off) == items[i].att_len);
        FUZZ_CHECK(items[i].att_len == 0 || items[i].att == data + off + 4);
        off += 4 + items[i].att_len;
    }
    FUZZ_CHECK(off == size);
    FUZZ_CHECK(rc_frame_size(items, n) == size);
    if (size <= sizeof enc) {
        size_t len = 0;
        FUZZ_CHECK(rc_frame_encode(items, n, enc, sizeof enc, &len) == CA_OK);
        FUZZ_CHECK(len == size && memcmp(enc, data, size) == 0);
    }
}

static void check_encode(const uint8_t *data, size_t size)
{
    if (size == 0)
        return;
    size_t want = (size_t)data[0] % 16 + 1, n = 0, off = 1;
    while (n < want && off < size) {
        size_t ol = data[off++] % 64;
        ol = ol < size - off ? ol : size - off;
        items[n].op = data + off;
        items[n].op_len = ol;
        off += ol;
        size_t al = off < size ? data[off++] % 64 : 0;
        al = al < size - off ? al : size - off;
        items[n].att = al ? data + off : NULL;
        items[n].att_len = al;
        off += al;
        n++;
    }
    size_t len = 0, need = rc_frame_size(items, n);
    if (n == 0) {
        FUZZ_CHECK(need == 0);
        FUZZ_CHECK(rc_frame_encode(items, 0, enc, sizeof enc, &len) == CA_ERR_INVALID_ARGUMENT);
        return;
    }
    FUZZ_CHECK(need >= 3 + 8 * n && need <= sizeof enc);
    FUZZ_CHECK(rc_frame_encode(items, n, enc, need - 1, &len) == CA_ERR_BUFFER_TOO_SMALL);
    FUZZ_CHECK(len == need);
    len = 0;
    FUZZ_CHECK(rc_frame_encode(items, n, enc, need, &len) == CA_OK && len == need);
    FUZZ_CHECK(ref_is_frame(enc, len));
    FUZZ_CHECK(rc_frame_split(enc, len, back) == n);
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(back[i].op_len == items[i].op_len && back[i].att_len == items[i].att_len);
        FUZZ_CHECK(items[i].op_len == 0 || memcmp(back[i].op, items[i].op, items[i].op_len) == 0);
        FUZZ_CHECK(items[i].att_len == 0 ||
                   memcmp(back[i].att, items[i].att, items[i].att_len) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_split(data, size);
    check_encode(data, size);
    FUZZ_CHECK(rc_frame_size(items, RC_FRAME_MAX_ITEMS + 1) == 0);
    return 0;
}
