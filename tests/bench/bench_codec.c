/*
 * Codec cost: the strict decoders and the canonical encoders of the message
 * tables on their own, without signatures (envelope decode is in
 * `envelope`). Each figure is the median rate over rounds.
 *
 *   codec_card_decode_per_s     cai_card_body_decode + free: a card with a
 *                               description and 8 capabilities
 *   codec_card_encode_per_s     cai_card_body_encode of the same card
 *   codec_task_body_decode_per_s cai_task_body_decode, the seven kinds in turn
 *   codec_task_body_encode_per_s cai_task_body_encode of the same bodies
 *   codec_ledger_op_decode_per_s cai_ledger_op_decode_signed of a signed
 *                               ESCROW_OPEN (cosigned) and a signed TRANSFER
 *   codec_ledger_op_encode_per_s cai_ledger_op_encode_signed of the same ops
 */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "card/card_internal.h"
#include "cyberagent.h"
#include "ledger/ledger_internal.h"
#include "task/task_internal.h"

#define CODEC_CAP 1024

typedef struct codec_sample {
    uint8_t bytes[CODEC_CAP];
    size_t len;
} codec_sample;

/* Calls fn(i) n times per round; prints the median rate. */
static void codec_rate(const char *name, int (*fn)(size_t i), size_t n)
{
    int rounds = bench_rounds();
    double rates[32];
    if (rounds > 32)
        rounds = 32;
    int bad = 0;
    for (size_t i = 0; i < n / 8; i++) /* warm-up */
        bad |= fn(i);
    for (int r = 0; r < rounds; r++) {
        double t0 = bench_now();
        for (size_t i = 0; i < n; i++)
            bad |= fn(i);
        rates[r] = (double)n / (bench_now() - t0);
    }
    if (bad != 0) {
        bench_figure(name, 0, "failed");
        return;
    }
    bench_figure(name, bench_median(rates, (size_t)rounds), "ops/s");
}

/* ---- cards ---- */

static ca_card_params card_params;
static ca_card_capability card_caps[8];
static codec_sample card_body;

static int card_setup(void)
{
    static const char *const names[8] = {
        "llm.translate.en-fr", "llm.summarize",    "img.caption", "llm.translate.de-en",
        "code.review",         "audio.transcribe", "llm.chat",    "img.generate"};
    if (ca_card_params_init(&card_params, CA_CARD_PARAMS_VERSION) != CA_OK)
        return -1;
    for (size_t i = 0; i < 8; i++) {
        card_caps[i].name = names[i];
        card_caps[i].price = 1000 + 17 * i;
        card_caps[i].latency_ms = i % 2 ? 250 : 0;
    }
    card_params.name = "translator-7";
    card_params.description = "Translates and summarizes text; reviews code on request.";
    card_params.endpoint = "nats://agents.example/translator-7";
    card_params.stake = 5000000;
    card_params.not_before = 1700000000000ull;
    card_params.not_after = 1700086400000ull;
    card_params.sequence = 3;
    card_params.created_at = 1700000000000ull;
    card_params.capabilities = card_caps;
    card_params.capability_size = sizeof card_caps[0];
    card_params.capability_count = 8;
    return cai_card_body_encode(&card_params, card_body.bytes, sizeof card_body.bytes,
                                &card_body.len) == CA_OK
               ? 0
               : -1;
}

static int op_card_decode(size_t i)
{
    (void)i;
    ca_card *card = NULL;
    ca_status st = cai_card_body_decode(&card, card_body.bytes, card_body.len);
    bench_consume(&card, sizeof card);
    ca_card_free(card);
    return st != CA_OK;
}

static int op_card_encode(size_t i)
{
    (void)i;
    uint8_t out[CODEC_CAP];
    size_t len = 0;
    ca_status st = cai_card_body_encode(&card_params, out, sizeof out, &len);
    bench_consume(out, 1);
    return st != CA_OK;
}

/* ---- task bodies ---- */

#define TASK_KINDS 7
static codec_sample task_bodies[TASK_KINDS];
static cai_task_body task_structs[TASK_KINDS]; /* the public struct of each kind in .u */
static ca_hash task_refs[3];

static void fill_hash(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + 31 * i);
}

static int task_setup(void)
{
    static const uint8_t input[96] = {1, 2, 3};
    static ca_task_content content = {.version = CA_TASK_CONTENT_VERSION};
    memset(task_structs, 0, sizeof task_structs);
    for (uint32_t k = 0; k < TASK_KINDS; k++) /* every body's first member: its version, 1 */
        memcpy(&task_structs[k].u, &(unsigned int){1}, sizeof(unsigned int));
    ca_hash h = {{0}};
    ca_agent_id worker = {{0}};
    fill_hash(h.bytes, sizeof h.bytes, 7);
    fill_hash(worker.bytes, sizeof worker.bytes, 9);
    for (int i = 0; i < 3; i++)
        fill_hash(task_refs[i].bytes, sizeof task_refs[i].bytes, (uint8_t)(40 + i));

    ca_task_request *rq = &task_structs[0].u.request;
    rq->capability = "llm.translate.en-fr";
    content.data = input;
    content.data_len = sizeof input;
    rq->input = &content;
    rq->max_price = 1000;
    rq->deadline = 1700000600000ull;
    rq->collateral = 100;
    ca_task_bid *bd = &task_structs[1].u.bid;
    bd->task = h;
    bd->price = 900;
    bd->completion = 1700000300000ull;
    bd->collateral = 100;
    ca_task_award *aw = &task_structs[2].u.award;
    aw->task = h;
    aw->bid = task_refs[0];
    aw->worker = worker;
    aw->price = 900;
    aw->collateral = 100;
    aw->deadline = 1700000400000ull;
    ca_task_result *rs = &task_structs[3].u.result;
    rs->task = h;
    rs->award = task_refs[1];
    static ca_task_content output = {.version = CA_TASK_CONTENT_VERSION};
    output.uri = "https://results.example/abc";
    output.hash = task_refs[2];
    rs->output = &output;
    ca_task_receipt *rc = &task_structs[4].u.receipt;
    rc->task = h;
    rc->award = task_refs[1];
    rc->result = task_refs[2];
    rc->worker = worker;
    rc->accept = 1;
    rc->rating = 90;
    rc->paid = 900;
    ca_task_cancel *cn = &task_structs[5].u.cancel;
    cn->task = h;
    cn->reason = "no longer needed";
    ca_task_dispute *dp = &task_structs[6].u.dispute;
    dp->task = h;
    dp->reason = "the output is not a translation";
    dp->refs = task_refs;
    dp->ref_count = 3;
    for (uint32_t k = 0; k < TASK_KINDS; k++)
        if (cai_task_body_encode(CA_KIND_TASK_REQUEST + k, &task_structs[k].u, task_bodies[k].bytes,
                                 sizeof task_bodies[k].bytes, &task_bodies[k].len) != CA_OK)
            return -1;
    return 0;
}

static int op_task_decode(size_t i)
{
    size_t k = i % TASK_KINDS;
    cai_task_body b;
    ca_status st = cai_task_body_decode(CA_KIND_TASK_REQUEST + (uint32_t)k, task_bodies[k].bytes,
                                        task_bodies[k].len, &b);
    bench_consume(&b.kind, sizeof b.kind);
    return st != CA_OK;
}

static int op_task_encode(size_t i)
{
    size_t k = i % TASK_KINDS;
    uint8_t out[CODEC_CAP];
    size_t len = 0;
    ca_status st = cai_task_body_encode(CA_KIND_TASK_REQUEST + (uint32_t)k, &task_structs[k].u, out,
                                        sizeof out, &len);
    bench_consume(out, 1);
    return st != CA_OK;
}

/* ---- ledger ops ---- */

static codec_sample ledger_ops[2];
static ca_ledger_op ledger_structs[2];
static uint8_t ledger_sig[64], ledger_cosig[64];

static int ledger_setup(void)
{
    memset(ledger_structs, 0, sizeof ledger_structs);
    ledger_structs[0].version = ledger_structs[1].version = CA_LEDGER_OP_VERSION;
    fill_hash(ledger_sig, sizeof ledger_sig, 3);
    fill_hash(ledger_cosig, sizeof ledger_cosig, 5);
    ca_ledger_op *o = &ledger_structs[0];
    o->type = CA_LEDGER_OP_ESCROW_OPEN;
    fill_hash(o->signer.bytes, 32, 11);
    o->nonce = 12345;
    fill_hash(o->counterparty.bytes, 32, 13);
    fill_hash(o->ref.bytes, 32, 17);
    o->amount = 900;
    o->amount2 = 100;
    o->deadline = 1700000400000ull;
    ca_ledger_op *t = &ledger_structs[1];
    t->type = CA_LEDGER_OP_TRANSFER;
    fill_hash(t->signer.bytes, 32, 19);
    t->nonce = 7;
    fill_hash(t->counterparty.bytes, 32, 23);
    t->amount = 5000;
    for (int k = 0; k < 2; k++)
        if (cai_ledger_op_encode_signed(&ledger_structs[k], ledger_sig,
                                        k == 0 ? ledger_cosig : NULL, ledger_ops[k].bytes,
                                        sizeof ledger_ops[k].bytes, &ledger_ops[k].len) != CA_OK)
            return -1;
    return 0;
}

static int op_ledger_decode(size_t i)
{
    size_t k = i % 2;
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    const uint8_t *s = NULL, *c = NULL;
    ca_status st =
        cai_ledger_op_decode_signed(ledger_ops[k].bytes, ledger_ops[k].len, &op, &s, &c, NULL);
    bench_consume(&op.type, sizeof op.type);
    return st != CA_OK;
}

static int op_ledger_encode(size_t i)
{
    size_t k = i % 2;
    uint8_t out[CODEC_CAP];
    size_t len = 0;
    ca_status st = cai_ledger_op_encode_signed(&ledger_structs[k], ledger_sig,
                                               k == 0 ? ledger_cosig : NULL, out, sizeof out, &len);
    bench_consume(out, 1);
    return st != CA_OK;
}

void bench_codec(void)
{
    if (card_setup() != 0 || task_setup() != 0 || ledger_setup() != 0) {
        bench_figure("codec_setup", 0, "failed");
        return;
    }
    size_t n = bench_quick() ? 20000 : 400000;
    codec_rate("codec_card_decode_per_s", op_card_decode, n / 4);
    codec_rate("codec_card_encode_per_s", op_card_encode, n / 4);
    codec_rate("codec_task_body_decode_per_s", op_task_decode, n);
    codec_rate("codec_task_body_encode_per_s", op_task_encode, n);
    codec_rate("codec_ledger_op_decode_per_s", op_ledger_decode, n);
    codec_rate("codec_ledger_op_encode_per_s", op_ledger_encode, n);
}
