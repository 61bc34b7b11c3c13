/* Export of a card as an A2A Agent Card JSON document (mapping: docs/PROTOCOL.md). */
#include <inttypes.h>
#include <stdio.h>

#include "card/card_internal.h"
#include "internal.h"

/* Counting text writer: writes while it fits, always counts. */
typedef struct {
    char *buf;
    size_t cap, len;
} json_w;

static void jw_raw(json_w *w, const char *s, size_t n)
{
    if (w->buf != NULL && w->len + n <= w->cap)
        memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void jw_lit(json_w *w, const char *s)
{
    jw_raw(w, s, strlen(s));
}

/* A JSON string literal; the input is valid UTF-8 (checked by the parser). */
static void jw_str(json_w *w, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    jw_raw(w, "\"", 1);
    for (const char *p = s; *p != '\0'; p++) {
        unsigned char c = (unsigned char)*p;
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        switch (c) {
        case '"':
            jw_raw(w, "\\\"", 2);
            break;
        case '\\':
            jw_raw(w, "\\\\", 2);
            break;
        case '\n':
            jw_raw(w, "\\n", 2);
            break;
        case '\r':
            jw_raw(w, "\\r", 2);
            break;
        case '\t':
            jw_raw(w, "\\t", 2);
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                jw_raw(w, esc, 6);
            else
                jw_raw(w, p, 1);
        }
    }
    jw_raw(w, "\"", 1);
}

/* uint64 as a JSON string (JSON numbers lose precision above 2^53). */
static void jw_u64(json_w *w, uint64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "\"%" PRIu64 "\"", v);
    jw_raw(w, num, (size_t)n);
}

static void emit(const ca_card *card, const char *did, json_w *wp)
{
    json_w w = *wp;
    char version[24];
    (void)snprintf(version, sizeof version, "%" PRIu64, ca_card_sequence(card));
    jw_lit(&w, "{\"protocolVersion\":\"0.3.0\",\"name\":");
    jw_str(&w, ca_card_name(card));
    jw_lit(&w, ",\"description\":");
    jw_str(&w, ca_card_description(card));
    jw_lit(&w, ",\"url\":");
    jw_str(&w, ca_card_endpoint(card));
    jw_lit(&w, ",\"version\":");
    jw_str(&w, version);
    jw_lit(&w, ",\"capabilities\":{\"streaming\":false,\"pushNotifications\":false,"
               "\"extensions\":[{\"uri\":\"urn:cyberagent:card:1\",\"required\":false,"
               "\"params\":{\"agent\":");
    jw_str(&w, did);
    jw_lit(&w, ",\"stake\":");
    jw_u64(&w, ca_card_stake(card));
    jw_lit(&w, ",\"notBefore\":");
    jw_u64(&w, ca_card_not_before(card));
    jw_lit(&w, ",\"notAfter\":");
    jw_u64(&w, ca_card_not_after(card));
    jw_lit(&w, ",\"sequence\":");
    jw_u64(&w, ca_card_sequence(card));
    jw_lit(&w, ",\"prices\":[");
    size_t n = ca_card_capability_count(card);
    for (size_t i = 0; i < n; i++) {
        ca_card_capability c;
        (void)ca_card_capability_at(card, i, &c, sizeof c);
        jw_lit(&w, i > 0 ? ",{\"skill\":" : "{\"skill\":");
        jw_str(&w, c.name);
        jw_lit(&w, ",\"price\":");
        jw_u64(&w, c.price);
        if (c.latency_ms != 0) {
            jw_lit(&w, ",\"latencyMs\":");
            jw_u64(&w, c.latency_ms);
        }
        jw_lit(&w, "}");
    }
    jw_lit(&w, "]}}]},\"defaultInputModes\":[\"application/octet-stream\"],"
               "\"defaultOutputModes\":[\"application/octet-stream\"],\"skills\":[");
    for (size_t i = 0; i < n; i++) {
        ca_card_capability c;
        (void)ca_card_capability_at(card, i, &c, sizeof c);
        jw_lit(&w, i > 0 ? ",{\"id\":" : "{\"id\":");
        jw_str(&w, c.name);
        jw_lit(&w, ",\"name\":");
        jw_str(&w, c.name);
        char desc[96];
        int dl =
            c.latency_ms != 0
                ? snprintf(desc, sizeof desc, "price %" PRIu64 " base units, within %" PRIu64 " ms",
                           c.price, c.latency_ms)
                : snprintf(desc, sizeof desc, "price %" PRIu64 " base units", c.price);
        (void)dl;
        jw_lit(&w, ",\"description\":");
        jw_str(&w, desc);
        jw_lit(&w, ",\"tags\":[");
        /* tags: the dotted segments */
        const char *seg = c.name;
        for (const char *p = c.name;; p++) {
            if (*p == '.' || *p == '\0') {
                jw_lit(&w, seg == c.name ? "\"" : ",\"");
                jw_raw(&w, seg, (size_t)(p - seg)); /* [a-z0-9-]: no escaping needed */
                jw_lit(&w, "\"");
                if (*p == '\0')
                    break;
                seg = p + 1;
            }
        }
        jw_lit(&w, "]}");
    }
    jw_lit(&w, "]}");
    *wp = w;
}

ca_status ca_card_to_a2a_json(const ca_card *card, char *out, size_t out_cap, size_t *out_len)
{
    CAI_REQUIRE(card);
    CAI_REQUIRE(out_len);
    char did[CA_DID_MAX_CHARS + 1];
    size_t did_len = 0;
    ca_agent_id agent;
    ca_card_agent(card, &agent);
    ca_status st = ca_did_encode(&agent, did, sizeof did, &did_len);
    if (st != CA_OK)
        return st;
    json_w w = {NULL, 0, 0};
    emit(card, did, &w);
    size_t need = w.len;
    st = cai_check_out(out, out_cap, out_len, need + 1);
    *out_len = need;
    if (st != CA_OK)
        return st;
    w = (json_w){out, out_cap, 0};
    emit(card, did, &w);
    out[need] = '\0';
    return CA_OK;
}
