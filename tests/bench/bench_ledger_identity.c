/*
 * What identities that rotate and delegate cost the ledger's signed path
 * (ca_ledger_submit of signed TRANSFERs, in memory), as ratios against
 * direct transfers by accounts that never rotated, timed in the same run
 * (bench_interleave: one batch of each side per round, alternating order,
 * median of the per-round ratios):
 *   ledger_rotated_submit_ratio    transfers by 16 accounts whose key was
 *                                  rotated 16 times each (KEY_EVENTs applied),
 *                                  signed with their current keys / the same
 *                                  by 16 plain accounts. Goal <= 1.05: the
 *                                  ledger finds the current key with one
 *                                  record lookup and never walks a history.
 *   ledger_delegated_submit_ratio  transfers signed by 16 delegates under a
 *                                  depth-2 chain (delegator -> middle ->
 *                                  delegate) / the same direct. No goal: a
 *                                  delegated op verifies its chain's links
 *                                  (2 Ed25519 verifies) besides its own
 *                                  signature, so about 3 is what it costs.
 * Each side's ops are signed before the timing; a batch is BATCH submits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "cyberagent.h"

#define ACCTS     16
#define ROTATIONS 16
#define BATCH     256
#define T0        1700000000000ull

typedef struct signed_op {
    uint8_t *bytes;
    size_t len;
} signed_op;

typedef struct side {
    ca_ledger *l;
    signed_op *ops;
    size_t n, next;
} side;

static int fail(const char *what)
{
    fprintf(stderr, "bench_ledger_identity: %s: %s\n", what, ca_last_error());
    return -1;
}

/* One batch of a side's pre-signed ops, submitted; wall seconds (-1 on failure). */
static double run_batch(void *ctx)
{
    side *s = ctx;
    if (s->next + BATCH > s->n)
        return -1;
    double t0 = bench_now();
    for (size_t i = 0; i < BATCH; i++, s->next++)
        if (ca_ledger_submit(s->l, s->ops[s->next].bytes, s->ops[s->next].len, T0, NULL) != CA_OK)
            return fail("submit");
    return bench_now() - t0;
}

static int keep(side *s, const uint8_t *bytes, size_t len)
{
    uint8_t *p = malloc(len);
    if (p == NULL)
        return -1;
    memcpy(p, bytes, len);
    s->ops[s->n].bytes = p;
    s->ops[s->n++].len = len;
    return 0;
}

static ca_ledger_op transfer(const ca_agent_id *from, const ca_agent_id *to, uint64_t nonce)
{
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = CA_LEDGER_OP_TRANSFER;
    op.signer = *from;
    op.counterparty = *to;
    op.amount = 1;
    op.nonce = nonce;
    return op;
}

/* MINT by the authority, trusted. */
static int mint(ca_ledger *l, const ca_agent_id *auth, uint64_t *auth_nonce, const ca_agent_id *to)
{
    ca_ledger_op op = transfer(auth, to, ++*auth_nonce);
    op.type = CA_LEDGER_OP_MINT;
    op.amount = 1000000000u;
    return ca_ledger_apply(l, &op, T0, NULL) == CA_OK ? 0 : fail("mint");
}

/* A KEY_EVENT for `account` carrying `ev`, signed by `key` with the account's next nonce. */
static int key_event(ca_ledger *l, const ca_hash *lid, const ca_agent_id *account,
                     const ca_identity *key, const uint8_t *ev, size_t len, uint64_t nonce)
{
    ca_key_event_info info = {.version = CA_KEY_EVENT_INFO_VERSION};
    if (ca_key_event_open(ev, len, &info) != CA_OK)
        return fail("key event");
    ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
    op.type = CA_LEDGER_OP_KEY_EVENT;
    op.signer = *account;
    op.ref = info.digest;
    op.amount = info.sequence;
    op.nonce = nonce;
    uint8_t buf[CA_LEDGER_OP_MAX_BYTES];
    size_t n = 0;
    if (ca_ledger_op_sign_with_key(lid, &op, key, NULL, NULL, buf, sizeof buf, &n) != CA_OK ||
        ca_ledger_submit_evidence(l, buf, n, ev, len, T0, NULL) != CA_OK)
        return fail("KEY_EVENT");
    return 0;
}

/* Binds `account` (its key keys[0]) and rotates it ROTATIONS times; *nonce: the account's. */
static int rotate_all(ca_ledger *l, const ca_hash *lid, ca_identity *const *keys, uint64_t *nonce)
{
    ca_agent_id account, next_key;
    ca_hash commit;
    uint8_t ev[CA_KEY_EVENT_MAX_BYTES];
    size_t len = 0;
    ca_identity_id(keys[0], &account);
    ca_identity_id(keys[1], &next_key);
    if (ca_key_commitment(&next_key, &commit) != CA_OK ||
        ca_key_event_incept(keys[0], &commit, T0, ev, sizeof ev, &len) != CA_OK)
        return fail("inception");
    ca_key_history *h = NULL;
    if (ca_key_history_new(&h, ev, len) != CA_OK ||
        key_event(l, lid, &account, keys[0], ev, len, ++*nonce) != 0) {
        ca_key_history_free(h);
        return -1;
    }
    int rc = 0;
    for (int r = 1; r <= ROTATIONS && rc == 0; r++) {
        ca_identity_id(keys[r + 1], &next_key);
        rc = ca_key_commitment(&next_key, &commit) != CA_OK ||
                     ca_key_event_rotate(h, keys[r], &commit, T0 + (uint64_t)r, ev, sizeof ev,
                                         &len) != CA_OK ||
                     ca_key_history_append(h, ev, len) != CA_OK
                 ? fail("rotation")
                 : key_event(l, lid, &account, keys[r], ev, len, ++*nonce);
    }
    ca_key_history_free(h);
    return rc;
}

static void ratio(const char *name, int rounds, side *num, side *den)
{
    bench_pair p;
    if (bench_interleave(rounds, run_batch, num, run_batch, den, &p) != 0) {
        fprintf(stderr, "bench_ledger_identity: %s not measured\n", name);
        return;
    }
    bench_figure(name, p.ratio, "x");
}

typedef struct world {
    ca_identity *auth, *sink_id, *plain[ACCTS], *keys[ACCTS][ROTATIONS + 2];
    ca_identity *dlg, *mid, *delegates[ACCTS];
    ca_ledger *l;
    side plain_side, rotated_side, delegated_side;
    uint8_t root[1600], links[ACCTS][1600];
    size_t root_len, link_len[ACCTS];
} world;

static void world_free(world *w)
{
    side *sides[3] = {&w->plain_side, &w->rotated_side, &w->delegated_side};
    for (int s = 0; s < 3; s++) {
        for (size_t i = 0; i < sides[s]->n; i++)
            free(sides[s]->ops[i].bytes);
        free(sides[s]->ops);
    }
    ca_identity_free(w->auth);
    ca_identity_free(w->sink_id);
    ca_identity_free(w->dlg);
    ca_identity_free(w->mid);
    for (int a = 0; a < ACCTS; a++) {
        ca_identity_free(w->plain[a]);
        ca_identity_free(w->delegates[a]);
        for (int k = 0; k < ROTATIONS + 2; k++)
            ca_identity_free(w->keys[a][k]);
    }
    ca_ledger_free(w->l);
    free(w);
}

/* A delegation from `issuer` to `audience` (ledger.transfer, caps far above the bench's). */
static int delegate(const ca_identity *issuer, const ca_identity *audience, const ca_hash *parent,
                    uint8_t *out, size_t *len, ca_hash *id)
{
    static const char *const caps[] = {CA_LEDGER_CAPABILITY_TRANSFER};
    ca_agent_id to;
    ca_identity_id(audience, &to);
    ca_delegation_params p;
    (void)ca_delegation_params_init(&p, CA_DELEGATION_PARAMS_VERSION);
    p.audience = &to;
    p.capabilities = caps;
    p.capability_count = 1;
    p.total_cap = p.task_cap = UINT64_MAX / 4;
    p.created_at = p.not_before = T0 - 1000;
    p.expires_at = T0 + 86400000u;
    p.parent = parent;
    return ca_delegation_sign(issuer, &p, out, 1600, len, id) == CA_OK ? 0 : fail("delegation");
}

static int setup(world *w, size_t per_side)
{
    ca_identity **all[] = {&w->auth, &w->sink_id, &w->dlg, &w->mid};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (ca_identity_generate(all[i]) != CA_OK)
            return fail("identity");
    for (int a = 0; a < ACCTS; a++) {
        if (ca_identity_generate(&w->plain[a]) != CA_OK ||
            ca_identity_generate(&w->delegates[a]) != CA_OK)
            return fail("identity");
        for (int k = 0; k < ROTATIONS + 2; k++)
            if (ca_identity_generate(&w->keys[a][k]) != CA_OK)
                return fail("identity");
    }
    ca_ledger_options o;
    (void)ca_ledger_options_init(&o, CA_LEDGER_OPTIONS_VERSION);
    ca_identity_id(w->auth, &o.authority);
    ca_hash lid;
    if (ca_ledger_new(&w->l, &o) != CA_OK || ca_ledger_id(w->l, &lid) != CA_OK)
        return fail("ledger");
    uint64_t auth_nonce = 0;
    ca_agent_id sink, dlg, plain[ACCTS], rotated[ACCTS];
    ca_identity_id(w->sink_id, &sink);
    ca_identity_id(w->dlg, &dlg);
    if (mint(w->l, &o.authority, &auth_nonce, &sink) || mint(w->l, &o.authority, &auth_nonce, &dlg))
        return -1;
    uint64_t nonces[ACCTS];
    for (int a = 0; a < ACCTS; a++) {
        ca_identity_id(w->plain[a], &plain[a]);
        ca_identity_id(w->keys[a][0], &rotated[a]);
        nonces[a] = 0;
        if (mint(w->l, &o.authority, &auth_nonce, &plain[a]) ||
            mint(w->l, &o.authority, &auth_nonce, &rotated[a]) ||
            rotate_all(w->l, &lid, w->keys[a], &nonces[a]))
            return -1;
    }
    /* The chain: dlg -> mid, then mid -> delegate a. */
    ca_hash root_id, leaf_id;
    if (delegate(w->dlg, w->mid, NULL, w->root, &w->root_len, &root_id))
        return -1;
    side *sides[3] = {&w->plain_side, &w->rotated_side, &w->delegated_side};
    for (int s = 0; s < 3; s++) {
        sides[s]->l = w->l;
        if ((sides[s]->ops = calloc(per_side, sizeof(signed_op))) == NULL)
            return -1;
    }
    uint8_t buf[CA_LEDGER_DELEGATED_OP_MAX_BYTES];
    size_t n = 0;
    uint64_t plain_nonce[ACCTS] = {0}, leaf_nonce[ACCTS] = {0};
    for (int a = 0; a < ACCTS; a++)
        if (delegate(w->mid, w->delegates[a], &root_id, w->links[a], &w->link_len[a], &leaf_id))
            return -1;
    for (size_t i = 0; i < per_side; i++) {
        const int a = (int)(i % ACCTS);
        ca_ledger_op op = transfer(&plain[a], &sink, ++plain_nonce[a]);
        if (ca_ledger_op_sign(&lid, &op, w->plain[a], NULL, buf, sizeof buf, &n) != CA_OK ||
            keep(&w->plain_side, buf, n))
            return fail("sign");
        op = transfer(&rotated[a], &sink, ++nonces[a]);
        if (ca_ledger_op_sign_with_key(&lid, &op, w->keys[a][ROTATIONS], NULL, NULL, buf,
                                       sizeof buf, &n) != CA_OK ||
            keep(&w->rotated_side, buf, n))
            return fail("sign with key");
        op = transfer(&dlg, &sink, ++leaf_nonce[a]);
        const uint8_t *chain[2] = {w->root, w->links[a]};
        const size_t lens[2] = {w->root_len, w->link_len[a]};
        if (ca_ledger_op_sign_delegated(&lid, &op, w->delegates[a], NULL, chain, lens, 2, buf,
                                        sizeof buf, &n) != CA_OK ||
            keep(&w->delegated_side, buf, n))
            return fail("sign delegated");
    }
    return 0;
}

void bench_ledger_identity(void)
{
    int rounds = bench_rounds();
    if (rounds > BENCH_MAX_ROUNDS / 2)
        rounds = BENCH_MAX_ROUNDS / 2;
    /* The plain side is the baseline of both ratios: it runs in both. */
    const size_t per_side = (size_t)rounds * 2 * BATCH;
    world *w = calloc(1, sizeof *w);
    if (w == NULL)
        return;
    if (setup(w, per_side) == 0) {
        ratio("ledger_rotated_submit_ratio", rounds, &w->rotated_side, &w->plain_side);
        ratio("ledger_delegated_submit_ratio", rounds, &w->delegated_side, &w->plain_side);
        if (ca_ledger_check(w->l) != CA_OK)
            (void)fail("check");
    }
    world_free(w);
}
