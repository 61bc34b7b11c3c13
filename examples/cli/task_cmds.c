/*
 * cyberagent: typed task and card bodies for `inspect`, and the `evidence`
 * and `thread` commands (equivocation evidence, serialized task threads).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Largest evidence or thread file read: two (resp. many) envelopes. */
#define EVIDENCE_MAX (3u << 20)
#define THREAD_MAX   (64u << 20)

static void hex_field(const char *name, const uint8_t *p, size_t n, const char *end)
{
    printf("\"%s\": \"", name);
    cli_hex_print(p, n);
    printf("\"%s", end);
}

static void str_json(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

static void did_field(const char *name, const ca_agent_id *id, const char *end)
{
    char did[CA_DID_MAX_CHARS + 1];
    cli_did(id, did);
    printf("\"%s\": \"%s\"%s", name, did, end);
}

static void content_json(const char *name, const ca_task_content *c)
{
    printf("\"%s\": {", name);
    if (c->uri != NULL) {
        printf("\"uri\": ");
        str_json(c->uri);
        printf(", ");
        hex_field("hash", c->hash.bytes, CA_HASH_BYTES, "}");
    } else {
        printf("\"inline_bytes\": %zu, ", c->data_len);
        hex_field("inline_hex", c->data, c->data_len, "}");
    }
}

#define U(x) ((unsigned long long)(x))

static void task_json(const ca_task_msg *m)
{
    ca_task_request rq = {.version = CA_TASK_REQUEST_VERSION};
    ca_task_bid bid = {.version = CA_TASK_BID_VERSION};
    ca_task_award aw = {.version = CA_TASK_AWARD_VERSION};
    ca_task_result rs = {.version = CA_TASK_RESULT_VERSION};
    ca_task_receipt rc = {.version = CA_TASK_RECEIPT_VERSION};
    ca_task_cancel cn = {.version = CA_TASK_CANCEL_VERSION};
    ca_task_dispute dp = {.version = CA_TASK_DISPUTE_VERSION};
    ca_hash task;
    ca_task_msg_task_id(m, &task);
    printf("  \"task_body\": {");
    hex_field("task", task.bytes, CA_HASH_BYTES, ", ");
    if (ca_task_msg_request(m, &rq) == CA_OK) {
        printf("\"capability\": ");
        str_json(rq.capability);
        printf(", ");
        content_json("input", rq.input);
        printf(", \"max_price\": %llu, \"deadline\": %llu, \"collateral\": %llu", U(rq.max_price),
               U(rq.deadline), U(rq.collateral));
        if (rq.has_recipient) {
            printf(", ");
            did_field("direct_hire", &rq.recipient, "");
        }
    } else if (ca_task_msg_bid(m, &bid) == CA_OK) {
        printf("\"price\": %llu, \"completion\": %llu, \"collateral\": %llu", U(bid.price),
               U(bid.completion), U(bid.collateral));
    } else if (ca_task_msg_award(m, &aw) == CA_OK) {
        hex_field("bid", aw.bid.bytes, CA_HASH_BYTES, ", ");
        did_field("worker", &aw.worker, ", ");
        printf("\"price\": %llu, \"collateral\": %llu, \"deadline\": %llu", U(aw.price),
               U(aw.collateral), U(aw.deadline));
    } else if (ca_task_msg_result(m, &rs) == CA_OK) {
        hex_field("award", rs.award.bytes, CA_HASH_BYTES, ", ");
        if (rs.failed) {
            printf("\"failed\": true, \"failure_code\": %llu, \"failure_message\": ",
                   U(rs.failure_code));
            str_json(rs.failure_message);
        } else {
            printf("\"failed\": false, ");
            content_json("output", rs.output);
        }
    } else if (ca_task_msg_receipt(m, &rc) == CA_OK) {
        hex_field("award", rc.award.bytes, CA_HASH_BYTES, ", ");
        hex_field("result", rc.result.bytes, CA_HASH_BYTES, ", ");
        did_field("worker", &rc.worker, ", ");
        printf("\"accept\": %s, \"rating\": %u, \"paid\": %llu", rc.accept ? "true" : "false",
               rc.rating, U(rc.paid));
    } else if (ca_task_msg_cancel(m, &cn) == CA_OK) {
        printf("\"reason\": ");
        str_json(cn.reason);
    } else if (ca_task_msg_dispute(m, &dp) == CA_OK) {
        printf("\"reason\": ");
        str_json(dp.reason);
        printf(", \"relies_on\": [");
        for (size_t i = 0; i < dp.ref_count; i++) {
            printf(i > 0 ? ", \"" : "\"");
            cli_hex_print(dp.refs[i].bytes, CA_HASH_BYTES);
            printf("\"");
        }
        printf("]");
    }
    printf("},\n");
}

static void card_json(const ca_card *card)
{
    printf("  \"card\": {\"name\": ");
    str_json(ca_card_name(card));
    printf(", \"description\": ");
    str_json(ca_card_description(card));
    printf(", \"endpoint\": ");
    str_json(ca_card_endpoint(card));
    printf(", \"stake\": %llu, \"not_before\": %llu, \"not_after\": %llu, \"sequence\": %llu, "
           "\"capabilities\": [",
           U(ca_card_stake(card)), U(ca_card_not_before(card)), U(ca_card_not_after(card)),
           U(ca_card_sequence(card)));
    for (size_t i = 0; i < ca_card_capability_count(card); i++) {
        ca_card_capability c;
        if (ca_card_capability_at(card, i, &c, sizeof(ca_card_capability)) != CA_OK)
            break;
        printf(i > 0 ? ", {\"name\": " : "{\"name\": ");
        str_json(c.name);
        printf(", \"price\": %llu, \"latency_ms\": %llu}", U(c.price), U(c.latency_ms));
    }
    printf("]},\n");
}

void cli_typed_body_json(const ca_envelope *env, const ca_identity *reader)
{
    uint32_t kind = ca_envelope_kind(env);
    if (kind == CA_KIND_CARD) {
        ca_card *card = NULL;
        ca_status st = ca_card_parse(&card, env);
        if (st == CA_OK)
            card_json(card);
        else
            printf("  \"card_status\": \"%s\",\n", ca_status_str(st));
        ca_card_free(card);
    } else if (kind >= CA_KIND_TASK_REQUEST && kind <= CA_KIND_TASK_DISPUTE) {
        ca_task_msg *m = NULL;
        ca_status st = ca_task_msg_parse(&m, env, reader);
        if (st == CA_OK)
            task_json(m);
        else
            printf("  \"task_body_status\": \"%s\",\n", ca_status_str(st));
        ca_task_msg_free(m);
    } else if (kind == CA_KIND_DELEGATION || kind == CA_KIND_REVOCATION) {
        cli_delegation_json(env);
    }
}

int cmd_evidence(int argc, char **argv)
{
    if (argc > 1) {
        cli_error("evidence", "usage: cyberagent evidence [FILE]");
        return CLI_USAGE;
    }
    uint8_t *data = NULL;
    size_t len = 0;
    if (cli_read_input("evidence", argc == 1 ? argv[0] : NULL, EVIDENCE_MAX, &data, &len) != 0)
        return CLI_FAIL;
    ca_evidence *ev = NULL;
    ca_status st = ca_evidence_open(&ev, data, len);
    free(data);
    if (st != CA_OK)
        return cli_status_error("evidence", "evidence does not verify", st);
    ca_agent_id who;
    ca_hash h;
    ca_evidence_offender(ev, &who);
    const char *kind_name = ca_kind_name(ca_evidence_kind(ev));
    printf("{\n  \"valid\": true,\n  ");
    did_field("offender", &who, ",\n  ");
    printf("\"kind\": %lu,\n  \"kind_name\": \"%s\",\n  ", (unsigned long)ca_evidence_kind(ev),
           kind_name != NULL ? kind_name : "");
    ca_evidence_task(ev, &h);
    hex_field("task", h.bytes, CA_HASH_BYTES, ",\n  ");
    ca_evidence_message(ev, 0, &h);
    hex_field("message_0", h.bytes, CA_HASH_BYTES, ",\n  ");
    ca_evidence_message(ev, 1, &h);
    hex_field("message_1", h.bytes, CA_HASH_BYTES, ",\n  ");
    ca_evidence_hash(ev, &h);
    hex_field("evidence_hash", h.bytes, CA_HASH_BYTES, "\n}\n");
    ca_evidence_free(ev);
    return fflush(stdout) == 0 ? 0 : cli_error("evidence", "cannot write standard output");
}

int cmd_thread(int argc, char **argv)
{
    if (argc > 1) {
        cli_error("thread", "usage: cyberagent thread [FILE]");
        return CLI_USAGE;
    }
    uint8_t *data = NULL;
    size_t len = 0;
    if (cli_read_input("thread", argc == 1 ? argv[0] : NULL, THREAD_MAX, &data, &len) != 0)
        return CLI_FAIL;
    ca_task *t = NULL;
    ca_status st = ca_task_deserialize(&t, data, len, NULL);
    free(data);
    if (st != CA_OK)
        return cli_status_error("thread", "thread does not verify", st);
    ca_hash h, digest;
    if ((st = ca_task_digest(t, &digest)) != CA_OK) {
        ca_task_free(t);
        return cli_status_error("thread", "cannot digest the thread", st);
    }
    ca_agent_id who;
    ca_task_id(t, &h);
    printf("{\n  \"valid\": true,\n  ");
    hex_field("task", h.bytes, CA_HASH_BYTES, ",\n  ");
    ca_task_requester(t, &who);
    did_field("requester", &who, ",\n  ");
    printf("\"state\": \"%s\",\n  \"disputed_by_requester\": %s,\n  \"disputed_by_worker\": "
           "%s,\n  ",
           ca_task_state_name(ca_task_get_state(t)),
           ca_task_disputed(t, CA_TASK_PARTY_REQUESTER) ? "true" : "false",
           ca_task_disputed(t, CA_TASK_PARTY_WORKER) ? "true" : "false");
    hex_field("digest", digest.bytes, CA_HASH_BYTES, ",\n  \"messages\": [\n");
    size_t n = ca_task_message_count(t);
    for (size_t i = 0; i < n; i++) {
        const ca_task_msg *m = ca_task_message(t, i);
        const char *name = ca_kind_name(ca_task_msg_kind(m));
        ca_task_msg_id(m, &h);
        ca_task_msg_sender(m, &who);
        printf("    {\"kind_name\": \"%s\", ", name != NULL ? name : "");
        hex_field("id", h.bytes, CA_HASH_BYTES, ", ");
        did_field("sender", &who, ", ");
        printf("\"created_at\": %llu}%s\n", U(ca_task_msg_created_at(m)), i + 1 < n ? "," : "");
    }
    printf("  ]\n}\n");
    ca_task_free(t);
    return fflush(stdout) == 0 ? 0 : cli_error("thread", "cannot write standard output");
}
