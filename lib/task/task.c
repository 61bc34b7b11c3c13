/* The task thread state machine: who may send what, when, for how much. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "core/idmap.h"
#include "delegation/delegation_internal.h"
#include "internal.h"
#include "task/task_internal.h"
#include "wire/wire.h"

/*
 * Lookup maps over the thread's messages, to the message's index: by message
 * id (duplicates, parents, dispute references, ca_task_find) and by bidder
 * (one bid per bidder). The keyed id map (lib/core/idmap.h): SipHash-1-3 of
 * the whole 32-byte key under a random key per map, so made-up ids or
 * bidders cannot be chosen to collide: a lookup costs O(1) expected probes
 * whatever the senders do (cai_task_lookup_cost measures it).
 */
typedef struct task_index {
    cai_idmap by_id, by_bidder;
} task_index;

struct ca_task {
    ca_task_options opts;
    ca_envelope_options env_opts;
    ca_task_msg **msgs; /* acceptance order; [0] is the request */
    size_t count, cap;
    ca_task_state state;
    ca_hash id;
    ca_agent_id requester;
    ca_agent_id principal; /* whom the requester acts for: its chain's delegator, or itself */
    /* The message of each kind ca_task_last answers: for BID and DISPUTE the latest. */
    const ca_task_msg *award, *result, *receipt, *cancel, *last_bid, *last_dispute;
    bool disputed[2]; /* indexed by ca_task_party */
    size_t bids;
    size_t bid_cap; /* min(max_bids, max_messages - CA_TASK_NONBID_MAX) */
    task_index ix;
};

const char *ca_task_state_name(ca_task_state state)
{
    switch (state) {
    case CA_TASK_SUBMITTED:
        return "submitted";
    case CA_TASK_WORKING:
        return "working";
    case CA_TASK_INPUT_REQUIRED:
        return "input-required";
    case CA_TASK_COMPLETED:
        return "completed";
    case CA_TASK_FAILED:
        return "failed";
    case CA_TASK_CANCELED:
        return "canceled";
    case CA_TASK_REJECTED:
        return "rejected";
    default:
        return "unknown";
    }
}

/* Bytes of a ca_task_options of `version` (a caller's struct may be an older, shorter layout). */
static size_t options_size(unsigned int version)
{
    switch (version) {
    case 1:
        return offsetof(ca_task_options, max_bids);
    case 2:
        return offsetof(ca_task_options, revocations);
    default:
        return sizeof(ca_task_options);
    }
}

static ca_status options_defaults(ca_task_options *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->version = CA_TASK_OPTIONS_VERSION;
    opts->max_messages = CA_TASK_MAX_MESSAGES_DEFAULT;
    opts->max_envelope_bytes = CA_TASK_MAX_ENVELOPE_BYTES_DEFAULT;
    opts->max_body_bytes = CA_TASK_MAX_BODY_BYTES_DEFAULT;
    opts->max_skew_ms = CA_TASK_MAX_SKEW_MS_DEFAULT;
    opts->max_bids = CA_TASK_MAX_BIDS_DEFAULT;
    return CA_OK;
}

ca_status ca_task_options_init(ca_task_options *opts, unsigned int version)
{
    CAI_REQUIRE(opts);
    CAI_REQUIRE_VERSION("ca_task_options", version, CA_TASK_OPTIONS_VERSION);
    ca_task_options d;
    ca_status st = options_defaults(&d);
    if (st != CA_OK)
        return st;
    d.version = version;
    memcpy(opts, &d, options_size(version));
    return CA_OK;
}

static ca_status resolve_opts(const ca_task_options *in, ca_task_options *opts,
                              ca_envelope_options *eo)
{
    ca_status st = options_defaults(opts);
    if (st != CA_OK)
        return st;
    if (in != NULL) {
        CAI_REQUIRE_VERSION("ca_task_options", in->version, CA_TASK_OPTIONS_VERSION);
        memcpy(opts, in, options_size(in->version));
        opts->version = CA_TASK_OPTIONS_VERSION;
    }
    if (opts->max_messages <= CA_TASK_NONBID_MAX)
        return cai_fail(CA_ERR_INVALID_ARGUMENT,
                        "max_messages must be at least %u: room for the %u non-bid messages and "
                        "one bid",
                        CA_TASK_NONBID_MAX + 1, CA_TASK_NONBID_MAX);
    if (opts->max_bids < 1)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "max_bids must be at least 1");
    st = ca_envelope_options_init(eo, CA_ENVELOPE_OPTIONS_VERSION);
    eo->max_envelope_bytes = opts->max_envelope_bytes;
    eo->max_body_bytes = opts->max_body_bytes;
    eo->max_skew_ms = opts->max_skew_ms;
    return st;
}

/* ---- lookup maps ---- */

/* The key a map files message `i` under: its id, or (bids) its sender. */
static const uint8_t *table_key(const ca_task *t, const cai_idmap *tab, uint32_t i)
{
    cai_task_msg_view v;
    cai_task_msg_view_of(t->msgs[i], &v);
    return tab == &t->ix.by_bidder ? v.sender->bytes : v.id->bytes;
}

/* Index of the message filed under `key`, or UINT32_MAX (messages are pointers: a cursor). */
static uint32_t table_find(const ca_task *t, const cai_idmap *tab, const uint8_t key[32])
{
    cai_idmap_cursor c = cai_idmap_cursor_start(tab, cai_idmap_hash(tab, key));
    for (uint32_t i; (i = cai_idmap_cursor_next(tab, &c)) != CAI_IDMAP_NONE;)
        if (cai_eq32(table_key(t, tab, i), key))
            return i;
    return UINT32_MAX;
}

/* Room reserved (cai_idmap_reserve) first, so this cannot fail. */
static void table_place(const ca_task *t, cai_idmap *tab, uint32_t i)
{
    cai_idmap_insert(tab, table_key(t, tab, i), i);
}

static const ca_task_msg *find(const ca_task *t, const ca_hash *id)
{
    uint32_t i = table_find(t, &t->ix.by_id, id->bytes);
    return i == UINT32_MAX ? NULL : t->msgs[i];
}

void cai_task_lookup_cost(const ca_task *t, cai_task_lookup_stats *st)
{
    memset(st, 0, sizeof *st);
    const cai_idmap *maps[2] = {&t->ix.by_id, &t->ix.by_bidder};
    for (int k = 0; k < 2; k++) {
        cai_idmap_stats ms;
        cai_idmap_stats_get(maps[k], &ms);
        st->keys += ms.count;
        st->hit_probes += ms.total_probe;
        if (ms.max_run > st->longest_run)
            st->longest_run = ms.max_run;
    }
}

static bool same_agent(const ca_agent_id *a, const ca_agent_id *b)
{
    return memcmp(a->bytes, b->bytes, CA_AGENT_ID_BYTES) == 0;
}

static bool same_hash(const ca_hash *a, const ca_hash *b)
{
    return memcmp(a->bytes, b->bytes, CA_HASH_BYTES) == 0;
}

/*
 * The accepted message of `kind` (BID, AWARD or RESULT) from `sender` with
 * another id, or NULL. A thread holds one bid per bidder, one award and one
 * result, so this is one lookup.
 */
static const ca_task_msg *conflicting(const ca_task *t, uint32_t kind, const ca_agent_id *sender,
                                      const ca_hash *id)
{
    const ca_task_msg *m = NULL;
    if (kind == CA_KIND_TASK_BID) {
        uint32_t i = table_find(t, &t->ix.by_bidder, sender->bytes);
        m = i == UINT32_MAX ? NULL : t->msgs[i];
    } else if (kind == CA_KIND_TASK_AWARD) {
        m = t->award;
    } else if (kind == CA_KIND_TASK_RESULT) {
        m = t->result;
    }
    if (m == NULL)
        return NULL;
    cai_task_msg_view v;
    cai_task_msg_view_of(m, &v);
    return same_agent(v.sender, sender) && !same_hash(v.id, id) ? m : NULL;
}

#define U64(x) ((unsigned long long)(x))

/* ---- delegated sides (task.h, DELEGATED SIDES) ---- */

/*
 * The chain `links` verified at `at`, with the thread's revocations unless
 * in audit mode; `info` filled on success.
 */
static ca_status chain_holds(const ca_task *t, ca_delegation *const *links, size_t n, uint64_t at,
                             bool audit, ca_delegation_chain_info *info)
{
    ca_delegation_verify_options vo;
    ca_status st = ca_delegation_verify_options_init(&vo, CA_DELEGATION_VERIFY_OPTIONS_VERSION);
    if (st != CA_OK)
        return st;
    vo.revocations = audit ? NULL : t->opts.revocations;
    info->version = CA_DELEGATION_CHAIN_INFO_VERSION;
    return ca_delegation_chain_verify((const ca_delegation *const *)links, n, at, &vo, info);
}

/*
 * A REQUEST's or BID's own chain: verified at its created_at, its leaf's
 * audience the sender, the capability granted, `money` within the leaf's
 * task cap. *principal receives whom the message acts for (the sender
 * without a chain). The links' signatures are marked checked on success, so
 * the side's later messages re-verify the chain without them.
 */
static ca_status judge_chain(const ca_task *t, const cai_task_msg_view *m, const char *capability,
                             uint64_t money, const char *money_word, bool audit,
                             ca_agent_id *principal)
{
    *principal = *m->sender;
    if (m->link_count == 0)
        return CA_OK;
    ca_delegation_chain_info info;
    ca_status st = chain_holds(t, m->links, m->link_count, m->created_at, audit, &info);
    if (st != CA_OK) {
        char why[200];
        (void)snprintf(why, sizeof why, "%s", ca_last_error());
        return cai_fail(st, "%s under a chain that does not hold: %s", cai_task_kind_word(m->kind),
                        why);
    }
    if (memcmp(info.delegate.bytes, m->sender->bytes, CA_AGENT_ID_BYTES) != 0)
        return cai_fail(CA_ERR_DELEGATION_AUDIENCE,
                        "%s: the delegation chain is for another delegate than its sender",
                        cai_task_kind_word(m->kind));
    const ca_delegation *leaf = m->links[m->link_count - 1];
    if ((st = ca_delegation_grants(leaf, capability, strlen(capability))) != CA_OK)
        return cai_fail(st, "%s: the delegation chain does not grant capability '%s'",
                        cai_task_kind_word(m->kind), capability);
    if (money > info.task_cap)
        return cai_fail(CA_ERR_DELEGATION_TASK_CAP,
                        "%s: %s %llu is above the delegation chain's per-task cap %llu",
                        cai_task_kind_word(m->kind), money_word, U64(money), U64(info.task_cap));
    for (size_t i = 0; i < m->link_count; i++)
        cai_delegation_mark_checked(m->links[i]);
    *principal = info.delegator;
    return CA_OK;
}

/* A delegated side's later message: its chain (of `side`, the REQUEST or the awarded BID)
 * still holds at the message's created_at. */
static ca_status side_holds(const ca_task *t, const ca_task_msg *side, const cai_task_msg_view *m,
                            bool audit, const char *whose)
{
    cai_task_msg_view sv;
    cai_task_msg_view_of(side, &sv);
    if (sv.link_count == 0)
        return CA_OK;
    ca_delegation_chain_info info;
    ca_status st = chain_holds(t, sv.links, sv.link_count, m->created_at, audit, &info);
    if (st == CA_OK)
        return CA_OK;
    char why[200];
    (void)snprintf(why, sizeof why, "%s", ca_last_error());
    return cai_fail(st, "%s: the %s acts under a delegation chain that no longer holds: %s",
                    cai_task_kind_word(m->kind), whose, why);
}

/*
 * The delegation rules of a message that passed the protocol rules: a BID's
 * own chain and principal; the requester's later messages under the
 * request's chain, the worker's under its bid's; an AWARD of a delegated bid
 * while that bid's chain holds.
 */
static ca_status check_delegation(const ca_task *t, const ca_task_msg *msg, bool audit)
{
    cai_task_msg_view m, req;
    cai_task_msg_view_of(msg, &m);
    cai_task_msg_view_of(t->msgs[0], &req);
    if (m.kind == CA_KIND_TASK_BID) {
        ca_agent_id principal;
        ca_status st = judge_chain(t, &m, req.body->u.request.capability, m.body->u.bid.collateral,
                                   "collateral", audit, &principal);
        if (st != CA_OK)
            return st;
        if (memcmp(principal.bytes, t->principal.bytes, CA_AGENT_ID_BYTES) == 0)
            return cai_fail(CA_ERR_TASK_FORBIDDEN,
                            "the bid acts for the agent the request acts for");
        return CA_OK;
    }
    if (memcmp(m.sender->bytes, t->requester.bytes, CA_AGENT_ID_BYTES) == 0) {
        ca_status st = side_holds(t, t->msgs[0], &m, audit, "requester");
        if (st == CA_OK && m.kind == CA_KIND_TASK_AWARD) {
            const ca_task_msg *bid = find(t, m.parent); /* the rules found it */
            st = bid != NULL ? side_holds(t, bid, &m, audit, "chosen bidder") : CA_OK;
        }
        return st;
    }
    /* The worker's RESULT or DISPUTE (the rules allow no one else here). */
    if (t->award != NULL) {
        cai_task_msg_view aw;
        cai_task_msg_view_of(t->award, &aw);
        const ca_task_msg *bid = find(t, aw.parent);
        if (bid != NULL)
            return side_holds(t, bid, &m, audit, "worker");
    }
    return CA_OK;
}

/*
 * The rules, for a thread in `state` (the thread's own state, or for a
 * message that may conflict with an earlier one of its sender, the state
 * that earlier one was accepted in). `now` is the caller's clock; in audit
 * mode it is the message's own created_at, so the checks reduce to the
 * signed times. Equivocation is judged by the caller (task_apply), after
 * these rules passed.
 */
static ca_status check_rules(const ca_task *t, ca_task_state state, const ca_task_msg *msg,
                             uint64_t now, uint32_t *next)
{
    cai_task_msg_view m, req, par;
    cai_task_msg_view_of(msg, &m);
    cai_task_msg_view_of(t->msgs[0], &req);
    const ca_task_request *rq = &req.body->u.request;
    const uint64_t skew = t->opts.max_skew_ms;
    const bool from_requester = same_agent(m.sender, &t->requester);
    *next = (uint32_t)state;
    const ca_task_msg *parent = find(t, m.parent);
    if (parent != NULL)
        cai_task_msg_view_of(parent, &par);

    switch (m.kind) {
    case CA_KIND_TASK_REQUEST:
        return cai_fail(CA_ERR_TASK_MISMATCH, "a request starts a new task");

    case CA_KIND_TASK_BID: {
        const ca_task_bid *b = &m.body->u.bid;
        if (from_requester)
            return cai_fail(CA_ERR_TASK_FORBIDDEN, "the requester may not bid on its own task");
        if (rq->has_recipient && !same_agent(m.sender, &rq->recipient))
            return cai_fail(CA_ERR_TASK_FORBIDDEN, "direct hire: only the recipient may bid");
        if (state != CA_TASK_SUBMITTED)
            return cai_fail(CA_ERR_TASK_ORDER, "bid in state %s", ca_task_state_name(state));
        if (m.created_at < req.created_at)
            return cai_fail(CA_ERR_TASK_TIMESTAMP, "bid created before its request");
        if (m.created_at > rq->deadline || now > cai_sat_add(rq->deadline, skew))
            return cai_fail(CA_ERR_TASK_DEADLINE, "bid after the request deadline %llu",
                            U64(rq->deadline));
        if (b->price > rq->max_price)
            return cai_fail(CA_ERR_TASK_TERMS, "bid price %llu above max price %llu", U64(b->price),
                            U64(rq->max_price));
        if (b->collateral < rq->collateral)
            return cai_fail(CA_ERR_TASK_TERMS, "bid collateral %llu below required %llu",
                            U64(b->collateral), U64(rq->collateral));
        if (b->completion > rq->deadline || b->completion <= m.created_at)
            return cai_fail(CA_ERR_TASK_TERMS,
                            "bid completion %llu not between its creation and the deadline",
                            U64(b->completion));
        return CA_OK;
    }

    case CA_KIND_TASK_AWARD: {
        const ca_task_award *a = &m.body->u.award;
        if (!from_requester)
            return cai_fail(CA_ERR_TASK_FORBIDDEN, "only the requester awards");
        if (state != CA_TASK_SUBMITTED)
            return cai_fail(CA_ERR_TASK_ORDER, "award in state %s", ca_task_state_name(state));
        if (parent == NULL || par.kind != CA_KIND_TASK_BID)
            return cai_fail(CA_ERR_TASK_UNKNOWN_PARENT, "award names a bid not in the thread");
        const ca_task_bid *b = &par.body->u.bid;
        if (m.created_at < par.created_at)
            return cai_fail(CA_ERR_TASK_TIMESTAMP, "award created before its bid");
        if (m.created_at > rq->deadline || now > cai_sat_add(rq->deadline, skew))
            return cai_fail(CA_ERR_TASK_DEADLINE, "award after the request deadline %llu",
                            U64(rq->deadline));
        if (!same_agent(&a->worker, par.sender))
            return cai_fail(CA_ERR_TASK_TERMS, "award worker is not the bidder");
        if (a->price != b->price || a->collateral != b->collateral)
            return cai_fail(CA_ERR_TASK_TERMS, "award price or collateral differs from the bid");
        if (a->deadline < b->completion || a->deadline > rq->deadline ||
            a->deadline <= m.created_at)
            return cai_fail(CA_ERR_TASK_TERMS,
                            "award deadline %llu outside [bid completion, request deadline]",
                            U64(a->deadline));
        *next = CA_TASK_WORKING;
        return CA_OK;
    }

    case CA_KIND_TASK_RESULT: {
        if (t->award == NULL)
            return cai_fail(CA_ERR_TASK_UNKNOWN_PARENT, "result before any award");
        cai_task_msg_view aw;
        cai_task_msg_view_of(t->award, &aw);
        const ca_task_award *a = &aw.body->u.award;
        if (!same_agent(m.sender, &a->worker))
            return cai_fail(CA_ERR_TASK_FORBIDDEN, "only the awarded worker sends the result");
        if (state != CA_TASK_WORKING)
            return cai_fail(CA_ERR_TASK_ORDER, "result in state %s", ca_task_state_name(state));
        if (!same_hash(m.parent, aw.id))
            return cai_fail(CA_ERR_TASK_UNKNOWN_PARENT, "result names another award");
        if (m.created_at < aw.created_at)
            return cai_fail(CA_ERR_TASK_TIMESTAMP, "result created before its award");
        if (m.created_at > a->deadline || now > cai_sat_add(a->deadline, skew))
            return cai_fail(CA_ERR_TASK_DEADLINE, "result after the award deadline %llu",
                            U64(a->deadline));
        *next = CA_TASK_INPUT_REQUIRED;
        return CA_OK;
    }

    case CA_KIND_TASK_RECEIPT: {
        const ca_task_receipt *r = &m.body->u.receipt;
        if (!from_requester)
            return cai_fail(CA_ERR_TASK_FORBIDDEN, "only the requester sends the receipt");
        if (t->result == NULL && (state == CA_TASK_SUBMITTED || state == CA_TASK_WORKING))
            return cai_fail(CA_ERR_TASK_UNKNOWN_PARENT, "receipt before any result");
        if (state != CA_TASK_INPUT_REQUIRED)
            return cai_fail(CA_ERR_TASK_ORDER, "receipt in state %s", ca_task_state_name(state));
        cai_task_msg_view aw, rs;
        cai_task_msg_view_of(t->award, &aw);
        cai_task_msg_view_of(t->result, &rs);
        if (!same_hash(m.parent, rs.id))
            return cai_fail(CA_ERR_TASK_UNKNOWN_PARENT, "receipt names another result");
        if (!same_hash(&r->award, aw.id) || !same_agent(&r->worker, &aw.body->u.award.worker))
            return cai_fail(CA_ERR_TASK_TERMS, "receipt names another award or worker");
        if (r->paid > aw.body->u.award.price)
            return cai_fail(CA_ERR_TASK_TERMS, "receipt pays %llu, above the award price %llu",
                            U64(r->paid), U64(aw.body->u.award.price));
        if (m.created_at < rs.created_at)
            return cai_fail(CA_ERR_TASK_TIMESTAMP, "receipt created before its result");
        if (rs.body->u.result.failed)
            *next = CA_TASK_FAILED;
        else
            *next = r->accept ? CA_TASK_COMPLETED : CA_TASK_REJECTED;
        return CA_OK;
    }

    case CA_KIND_TASK_CANCEL: {
        if (!from_requester)
            return cai_fail(CA_ERR_TASK_FORBIDDEN, "only the requester cancels");
        if (parent == NULL)
            return cai_fail(CA_ERR_TASK_UNKNOWN_PARENT, "cancel names a message not in the "
                                                        "thread");
        if (state == CA_TASK_SUBMITTED) {
            if (par.kind != CA_KIND_TASK_REQUEST)
                return cai_fail(CA_ERR_TASK_ORDER, "cancel before award must name the request");
        } else if (state == CA_TASK_WORKING) {
            cai_task_msg_view aw;
            cai_task_msg_view_of(t->award, &aw);
            uint64_t dl = aw.body->u.award.deadline;
            if (!same_hash(m.parent, aw.id))
                return cai_fail(CA_ERR_TASK_ORDER, "cancel after award must name the award");
            if (m.created_at <= dl || now <= dl)
                return cai_fail(CA_ERR_TASK_DEADLINE,
                                "cancel after award only once its deadline %llu has passed",
                                U64(dl));
        } else {
            return cai_fail(CA_ERR_TASK_ORDER, "cancel in state %s", ca_task_state_name(state));
        }
        if (m.created_at < par.created_at)
            return cai_fail(CA_ERR_TASK_TIMESTAMP, "cancel created before its parent");
        *next = CA_TASK_CANCELED;
        return CA_OK;
    }

    case CA_KIND_TASK_DISPUTE: {
        const ca_task_dispute *d = &m.body->u.dispute;
        if (t->award == NULL)
            return cai_fail(CA_ERR_TASK_ORDER, "dispute before any award");
        cai_task_msg_view aw;
        cai_task_msg_view_of(t->award, &aw);
        int who = from_requester                                   ? CA_TASK_PARTY_REQUESTER
                  : same_agent(m.sender, &aw.body->u.award.worker) ? CA_TASK_PARTY_WORKER
                                                                   : -1;
        if (who < 0)
            return cai_fail(CA_ERR_TASK_FORBIDDEN, "only the requester or the worker disputes");
        if (t->disputed[who])
            return cai_fail(CA_ERR_TASK_ORDER, "this party already disputed");
        if (parent == NULL)
            return cai_fail(CA_ERR_TASK_UNKNOWN_PARENT, "dispute names a parent not in the "
                                                        "thread");
        for (size_t i = 0; i < d->ref_count; i++)
            if (find(t, &d->refs[i]) == NULL)
                return cai_fail(CA_ERR_TASK_UNKNOWN_PARENT,
                                "dispute relies on message %zu, not in the thread", i);
        if (m.created_at < par.created_at)
            return cai_fail(CA_ERR_TASK_TIMESTAMP, "dispute created before its parent");
        return CA_OK;
    }
    default:
        return cai_fail(CA_ERR_WRONG_KIND, "not a task message");
    }
}

/*
 * The state a thread was in when it accepted `prior`, the sender's earlier
 * BID, AWARD or RESULT: a bid or an award needs SUBMITTED, a result WORKING.
 */
static ca_task_state state_before(uint32_t kind)
{
    return kind == CA_KIND_TASK_RESULT ? CA_TASK_WORKING : CA_TASK_SUBMITTED;
}

/*
 * The rules, then the bid bound (a new bidder's otherwise acceptable bid
 * beyond it: CA_ERR_LIMIT), or equivocation: when the sender already has a message of this
 * kind (BID, AWARD, RESULT) in the thread, the new one is judged in the state
 * the earlier one was accepted in, by the same rules. If it breaks one, that
 * rule is the answer: it could never have been accepted, so it proves
 * nothing. If it passes, it is the same statement re-signed (equal body:
 * CA_ERR_TASK_DUPLICATE, no offense) or a different one
 * (CA_ERR_TASK_EQUIVOCATION; ca_task_evidence can then prove it).
 */
static ca_status check_message(const ca_task *t, const ca_task_msg *msg, uint64_t now, bool audit,
                               uint32_t *next)
{
    cai_task_msg_view m, p;
    cai_task_msg_view_of(msg, &m);
    const ca_task_msg *prior = conflicting(t, m.kind, m.sender, m.id);
    if (prior == NULL) {
        ca_status st = check_rules(t, t->state, msg, now, next);
        if (st == CA_OK)
            st = check_delegation(t, msg, audit);
        if (st == CA_OK && m.kind == CA_KIND_TASK_BID && t->bids >= t->bid_cap)
            return cai_fail(CA_ERR_LIMIT, "task thread holds its maximum of %zu bids", t->bid_cap);
        return st;
    }
    ca_status st = check_rules(t, state_before(m.kind), msg, now, next);
    if (st == CA_OK)
        st = check_delegation(t, msg, audit);
    if (st != CA_OK)
        return st;
    cai_task_msg_view_of(prior, &p);
    if (p.body_len == m.body_len && memcmp(p.body_bytes, m.body_bytes, m.body_len) == 0)
        return cai_fail(CA_ERR_TASK_DUPLICATE,
                        "the sender's %s with this body is already in the thread (re-signed)",
                        cai_task_kind_word(m.kind));
    return cai_fail(CA_ERR_TASK_EQUIVOCATION, "the sender already sent a different %s",
                    cai_task_kind_word(m.kind));
}

/* Takes ownership of msg on success. */
static ca_status accept_msg(ca_task *t, ca_task_msg *msg, uint32_t next)
{
    cai_task_msg_view v;
    cai_task_msg_view_of(msg, &v);
    if (t->count == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        if (cap > t->bid_cap + CA_TASK_NONBID_MAX)
            cap = t->bid_cap + CA_TASK_NONBID_MAX;
        ca_task_msg **n = realloc(t->msgs, cap * sizeof(ca_task_msg *));
        if (n == NULL)
            return cai_fail(CA_ERR_NO_MEMORY, "out of memory growing a task thread");
        t->msgs = n;
        t->cap = cap;
    }
    ca_status st = cai_idmap_reserve(&t->ix.by_id, 1);
    if (st == CA_OK && v.kind == CA_KIND_TASK_BID)
        st = cai_idmap_reserve(&t->ix.by_bidder, 1);
    if (st != CA_OK)
        return st;
    uint32_t i = (uint32_t)t->count++;
    t->msgs[i] = msg;
    table_place(t, &t->ix.by_id, i);
    switch (v.kind) {
    case CA_KIND_TASK_BID:
        table_place(t, &t->ix.by_bidder, i);
        t->bids++;
        t->last_bid = msg;
        break;
    case CA_KIND_TASK_AWARD:
        t->award = msg;
        break;
    case CA_KIND_TASK_RESULT:
        t->result = msg;
        break;
    case CA_KIND_TASK_RECEIPT:
        t->receipt = msg;
        break;
    case CA_KIND_TASK_CANCEL:
        t->cancel = msg;
        break;
    case CA_KIND_TASK_DISPUTE:
        t->disputed[same_agent(v.sender, &t->requester) ? CA_TASK_PARTY_REQUESTER
                                                        : CA_TASK_PARTY_WORKER] = true;
        t->last_dispute = msg;
        break;
    default:
        break;
    }
    t->state = (ca_task_state)next;
    return CA_OK;
}

static ca_status verify_env(const ca_envelope *env, uint64_t now, bool audit,
                            const ca_envelope_options *eo)
{
    return ca_envelope_verify(env, audit ? ca_envelope_created_at(env) : now, eo);
}

static ca_status task_new(ca_task **out, const ca_envelope *request, uint64_t now, bool audit,
                          const ca_task_options *opts)
{
    ca_status st = cai_ensure_init();
    if (st != CA_OK)
        return st;
    ca_task *t = calloc(1, sizeof *t);
    if (t == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory allocating a task");
    st = resolve_opts(opts, &t->opts, &t->env_opts);
    if (st == CA_OK) {
        size_t room = t->opts.max_messages - CA_TASK_NONBID_MAX;
        t->bid_cap = t->opts.max_bids < room ? t->opts.max_bids : room;
        /* The thread's own bounds come first; the maps' limits only cap them. */
        size_t bids = t->bid_cap < CAI_IDMAP_MAX_ENTRIES ? t->bid_cap : CAI_IDMAP_MAX_ENTRIES;
        (void)cai_idmap_init(&t->ix.by_id, CAI_IDMAP_MAX_ENTRIES);
        (void)cai_idmap_init(&t->ix.by_bidder, (uint32_t)bids);
    }
    if (st == CA_OK && ca_envelope_kind(request) != CA_KIND_TASK_REQUEST)
        st = cai_fail(CA_ERR_WRONG_KIND, "a task starts with a request, not kind %u",
                      ca_envelope_kind(request));
    if (st == CA_OK)
        st = verify_env(request, now, audit, &t->env_opts);
    ca_task_msg *msg = NULL;
    if (st == CA_OK)
        st = cai_task_msg_parse(&msg, request, NULL, &t->env_opts);
    if (st == CA_OK) {
        cai_task_msg_view v;
        cai_task_msg_view_of(msg, &v);
        if (v.body->u.request.deadline <= v.created_at)
            st = cai_fail(CA_ERR_TASK_DEADLINE, "request deadline is not after its creation");
        t->id = *v.id;
        t->requester = *v.sender;
        if (st == CA_OK)
            st = judge_chain(t, &v, v.body->u.request.capability, v.body->u.request.max_price,
                             "max_price", audit, &t->principal);
    }
    if (st == CA_OK)
        st = accept_msg(t, msg, CA_TASK_SUBMITTED);
    if (st != CA_OK) {
        ca_task_msg_free(msg);
        ca_task_free(t);
        return st;
    }
    *out = t;
    return CA_OK;
}

ca_status ca_task_new(ca_task **out, const ca_envelope *request, uint64_t now,
                      const ca_task_options *opts)
{
    CAI_REQUIRE(out);
    *out = NULL;
    CAI_REQUIRE(request);
    return task_new(out, request, now, false, opts);
}

ca_status ca_task_new_bytes(ca_task **out, const uint8_t *data, size_t len, uint64_t now,
                            const ca_task_options *opts)
{
    CAI_REQUIRE(out);
    *out = NULL;
    CAI_REQUIRE(data);
    ca_task_options o;
    ca_envelope_options eo;
    ca_status st = resolve_opts(opts, &o, &eo);
    ca_envelope *env = NULL;
    if (st == CA_OK)
        st = ca_envelope_decode(&env, data, len, &eo);
    if (st == CA_OK)
        st = task_new(out, env, now, false, opts);
    ca_envelope_free(env);
    return st;
}

void ca_task_free(ca_task *task)
{
    if (task == NULL)
        return;
    for (size_t i = 0; i < task->count; i++)
        ca_task_msg_free(task->msgs[i]);
    free(task->msgs);
    cai_idmap_free(&task->ix.by_id);
    cai_idmap_free(&task->ix.by_bidder);
    free(task);
}

static ca_status task_apply(ca_task *t, const ca_envelope *env, uint64_t now, bool audit)
{
    uint32_t kind = ca_envelope_kind(env);
    if (!cai_task_kind(kind))
        return cai_fail(CA_ERR_WRONG_KIND, "envelope of kind %u is not a task message", kind);
    if (audit)
        now = ca_envelope_created_at(env);
    ca_status st = verify_env(env, now, audit, &t->env_opts);
    if (st != CA_OK)
        return st;
    ca_task_msg *msg = NULL;
    st = cai_task_msg_parse(&msg, env, NULL, &t->env_opts);
    if (st != CA_OK)
        return st;
    cai_task_msg_view v;
    cai_task_msg_view_of(msg, &v);
    uint32_t next = 0;
    if (find(t, v.id) != NULL)
        st = cai_fail(CA_ERR_TASK_DUPLICATE, "message already in the thread");
    else if (!same_hash(v.task, &t->id))
        st = cai_fail(CA_ERR_TASK_MISMATCH, "message belongs to another task");
    else
        st = check_message(t, msg, now, audit, &next);
    if (st == CA_OK)
        st = accept_msg(t, msg, next);
    if (st != CA_OK)
        ca_task_msg_free(msg);
    return st;
}

ca_status cai_task_audit_new(ca_task **out, const ca_envelope *request)
{
    *out = NULL;
    return task_new(out, request, 0, true, NULL);
}

ca_status cai_task_audit_apply(ca_task *t, const ca_envelope *env)
{
    return task_apply(t, env, 0, true);
}

ca_status ca_task_apply(ca_task *task, const ca_envelope *env, uint64_t now)
{
    CAI_REQUIRE(task);
    CAI_REQUIRE(env);
    return task_apply(task, env, now, false);
}

ca_status ca_task_apply_bytes(ca_task *task, const uint8_t *data, size_t len, uint64_t now)
{
    CAI_REQUIRE(task);
    CAI_REQUIRE(data);
    ca_envelope *env = NULL;
    ca_status st = ca_envelope_decode(&env, data, len, &task->env_opts);
    if (st != CA_OK)
        return st;
    st = task_apply(task, env, now, false);
    ca_envelope_free(env);
    return st;
}

ca_task_state ca_task_get_state(const ca_task *task)
{
    return task != NULL ? task->state : (ca_task_state)0;
}

void ca_task_id(const ca_task *task, ca_hash *out)
{
    if (task != NULL && out != NULL)
        *out = task->id;
}

void ca_task_requester(const ca_task *task, ca_agent_id *out)
{
    if (task != NULL && out != NULL)
        *out = task->requester;
}

const ca_task_msg *ca_task_last(const ca_task *task, uint32_t kind)
{
    if (task == NULL)
        return NULL;
    switch (kind) {
    case CA_KIND_TASK_REQUEST:
        return task->msgs[0];
    case CA_KIND_TASK_BID:
        return task->last_bid;
    case CA_KIND_TASK_AWARD:
        return task->award;
    case CA_KIND_TASK_RESULT:
        return task->result;
    case CA_KIND_TASK_RECEIPT:
        return task->receipt;
    case CA_KIND_TASK_CANCEL:
        return task->cancel;
    case CA_KIND_TASK_DISPUTE:
        return task->last_dispute;
    default:
        return NULL;
    }
}

size_t ca_task_bid_count(const ca_task *task)
{
    return task != NULL ? task->bids : 0;
}

int ca_task_disputed(const ca_task *task, ca_task_party party)
{
    return task != NULL && (party == CA_TASK_PARTY_REQUESTER || party == CA_TASK_PARTY_WORKER) &&
           task->disputed[party];
}

/* 1 when the set revokes a link of the chain (chain_verify's rule: by its issuer or one above). */
static bool chain_revoked(const ca_revocation_set *set, ca_delegation *const *links, size_t n)
{
    ca_delegation_info li[CA_DELEGATION_MAX_DEPTH];
    for (size_t i = 0; i < n; i++) {
        li[i].version = CA_DELEGATION_INFO_VERSION;
        if (ca_delegation_get(links[i], &li[i]) != CA_OK)
            return false;
        for (size_t j = 0; j <= i; j++)
            if (ca_revocation_set_contains(set, &li[i].id, &li[j].issuer))
                return true;
    }
    return false;
}

ca_status ca_task_side(const ca_task *task, ca_task_party party, ca_task_side_info *out)
{
    CAI_REQUIRE(task);
    CAI_REQUIRE(out);
    CAI_REQUIRE_VERSION("ca_task_side_info", out->version, CA_TASK_SIDE_INFO_VERSION);
    if (party != CA_TASK_PARTY_REQUESTER && party != CA_TASK_PARTY_WORKER)
        return cai_fail(CA_ERR_INVALID_ARGUMENT, "task party %d is neither requester nor worker",
                        (int)party);
    const ca_task_msg *side = task->msgs[0];
    if (party == CA_TASK_PARTY_WORKER) {
        if (task->award == NULL)
            return cai_fail(CA_ERR_NOT_FOUND, "the task has no awarded worker yet");
        cai_task_msg_view aw;
        cai_task_msg_view_of(task->award, &aw);
        side = find(task, aw.parent);
    }
    cai_task_msg_view v;
    cai_task_msg_view_of(side, &v);
    /* Version 1 is every field below. */
    const unsigned int version = out->version;
    memset(out, 0, sizeof *out);
    out->version = version;
    out->agent = *v.sender;
    out->principal = *v.sender;
    if (v.link_count == 0)
        return CA_OK;
    ca_delegation_info root = {.version = CA_DELEGATION_INFO_VERSION};
    ca_delegation_info leaf = {.version = CA_DELEGATION_INFO_VERSION};
    if (ca_delegation_get(v.links[0], &root) != CA_OK ||
        ca_delegation_get(v.links[v.link_count - 1], &leaf) != CA_OK)
        return cai_fail(CA_ERR_STATE, "task side: a link of its chain cannot be read");
    out->principal = root.issuer;
    out->delegated = 1;
    out->revoked = task->opts.revocations != NULL &&
                   chain_revoked(task->opts.revocations, v.links, v.link_count);
    out->depth = v.link_count;
    out->root = root.id;
    out->leaf = leaf.id;
    out->task_cap = leaf.task_cap;
    out->expires_at = leaf.expires_at;
    return CA_OK;
}

size_t ca_task_message_count(const ca_task *task)
{
    return task != NULL ? task->count : 0;
}

const ca_task_msg *ca_task_message(const ca_task *task, size_t index)
{
    return task != NULL && index < task->count ? task->msgs[index] : NULL;
}

const ca_task_msg *ca_task_find(const ca_task *task, const ca_hash *id)
{
    return task != NULL && id != NULL ? find(task, id) : NULL;
}

static int hash_cmp(const void *a, const void *b)
{
    return memcmp(a, b, CA_HASH_BYTES);
}

ca_status ca_task_digest(const ca_task *task, ca_hash *out)
{
    CAI_REQUIRE(task);
    CAI_REQUIRE(out);
    ca_hash *ids = malloc(task->count * sizeof *ids);
    if (ids == NULL)
        return cai_fail(CA_ERR_NO_MEMORY,
                        "out of memory sorting the %zu message ids of a task digest", task->count);
    for (size_t i = 0; i < task->count; i++)
        ca_task_msg_id(task->msgs[i], &ids[i]);
    qsort(ids, task->count, sizeof *ids, hash_cmp);
    crypto_generichash_state h;
    static const char tag[] = "cyberagent/1/task-digest";
    const uint8_t head[3] = {(uint8_t)task->state, task->disputed[CA_TASK_PARTY_REQUESTER],
                             task->disputed[CA_TASK_PARTY_WORKER]};
    crypto_generichash_init(&h, NULL, 0, CA_HASH_BYTES);
    crypto_generichash_update(&h, (const uint8_t *)tag, sizeof tag - 1);
    crypto_generichash_update(&h, head, sizeof head);
    crypto_generichash_update(&h, ids[0].bytes, task->count * CA_HASH_BYTES);
    crypto_generichash_final(&h, out->bytes, CA_HASH_BYTES);
    free(ids);
    return CA_OK;
}

/*
 * The messages between the request and `leaf` (its parent, the parent's
 * parent, ...), oldest first, as spans of the thread's encoded envelopes;
 * `leaf` itself is not included. At most CAI_EVIDENCE_CHAIN_MAX - 1.
 */
static ca_status thread_chain(const ca_task *t, const ca_hash *parent, cai_span *chain, size_t *n)
{
    const ca_task_msg *up[CAI_EVIDENCE_CHAIN_MAX];
    size_t k = 0;
    while (!same_hash(parent, &t->id)) {
        const ca_task_msg *m = find(t, parent);
        if (m == NULL || k == CAI_EVIDENCE_CHAIN_MAX - 1)
            return cai_fail(CA_ERR_NOT_FOUND, "the thread lacks a message the evidence needs");
        cai_task_msg_view v;
        cai_task_msg_view_of(m, &v);
        up[k++] = m;
        parent = v.parent;
    }
    for (size_t i = 0; i < k; i++) {
        cai_task_msg_view v;
        cai_task_msg_view_of(up[k - 1 - i], &v);
        chain[i] = (cai_span){v.env, v.env_len};
    }
    *n = k;
    return CA_OK;
}

ca_status ca_task_evidence(const ca_task *task, const ca_envelope *env, uint8_t *out,
                           size_t out_cap, size_t *out_len)
{
    CAI_REQUIRE(task);
    CAI_REQUIRE(env);
    CAI_REQUIRE(out_len);
    uint32_t kind = ca_envelope_kind(env);
    ca_agent_id sender;
    ca_hash id, parent;
    ca_envelope_sender(env, &sender);
    ca_envelope_id(env, &id);
    const ca_task_msg *prior = NULL;
    if (kind == CA_KIND_TASK_BID || kind == CA_KIND_TASK_AWARD || kind == CA_KIND_TASK_RESULT)
        prior = conflicting(task, kind, &sender, &id);
    if (prior == NULL)
        return cai_fail(CA_ERR_NOT_FOUND, "the thread holds no message this one conflicts with");
    if (!ca_envelope_parent(env, &parent))
        return cai_fail(CA_ERR_BAD_EVIDENCE, "a %s without a parent proves nothing",
                        cai_task_kind_word(kind));
    cai_span a[CAI_EVIDENCE_CHAIN_MAX], b[CAI_EVIDENCE_CHAIN_MAX];
    size_t na = 0, nb = 0;
    cai_task_msg_view pv, rq;
    cai_task_msg_view_of(prior, &pv);
    cai_task_msg_view_of(task->msgs[0], &rq);
    ca_status st = thread_chain(task, pv.parent, a, &na);
    if (st == CA_OK)
        st = thread_chain(task, &parent, b, &nb);
    if (st != CA_OK)
        return st;
    a[na++] = (cai_span){pv.env, pv.env_len};
    size_t len = 0;
    st = ca_envelope_encoded(env, NULL, 0, &len);
    if (st != CA_ERR_BUFFER_TOO_SMALL && st != CA_OK)
        return st;
    uint8_t *buf = malloc(len);
    if (buf == NULL)
        return cai_fail(CA_ERR_NO_MEMORY, "out of memory building evidence");
    st = ca_envelope_encoded(env, buf, len, &len);
    b[nb++] = (cai_span){buf, len};
    if (st == CA_OK)
        st =
            cai_evidence_write((cai_span){rq.env, rq.env_len}, a, na, b, nb, out, out_cap, out_len);
    free(buf);
    return st;
}

/* ---- serialization ---- */

enum { SER_VERSION = 0, SER_MESSAGES = 1 };
#define CAI_TASK_SER_VERSION 1u

ca_status ca_task_serialize(const ca_task *task, uint8_t *out, size_t out_cap, size_t *out_len)
{
    CAI_REQUIRE(task);
    CAI_REQUIRE(out_len);
    cai_wire_writer w;
    cai_ww_init(&w, out, out_cap);
    cai_ww_map(&w, 2);
    cai_ww_kuint(&w, SER_VERSION, CAI_TASK_SER_VERSION);
    cai_ww_uint(&w, SER_MESSAGES);
    cai_ww_array(&w, (uint32_t)task->count);
    for (size_t i = 0; i < task->count; i++) {
        cai_task_msg_view v;
        cai_task_msg_view_of(task->msgs[i], &v);
        cai_ww_bin(&w, v.env, v.env_len);
    }
    ca_status st = cai_ww_finish(&w, out_len);
    if (st == CA_ERR_BUFFER_TOO_SMALL)
        return cai_check_out(NULL, 0, out_len, *out_len);
    return st;
}

ca_status ca_task_deserialize(ca_task **out, const uint8_t *data, size_t len,
                              const ca_task_options *opts)
{
    CAI_REQUIRE(out);
    *out = NULL;
    CAI_REQUIRE(data);
    ca_task_options o;
    ca_envelope_options eo;
    ca_status st = resolve_opts(opts, &o, &eo);
    if (st != CA_OK)
        return st;
    cai_wire_dec d;
    cai_wire_map m;
    uint64_t version = 0;
    uint32_t n = 0;
    cai_wd_init(&d, data, len);
    cai_wd_map(&d, &m);
    cai_wd_key(&d, &m, SER_VERSION);
    cai_wd_uint(&d, UINT64_MAX, &version);
    if (version != CAI_TASK_SER_VERSION)
        cai_wd_fail(&d, CA_ERR_UNSUPPORTED, "task thread version %llu unknown", U64(version));
    cai_wd_key(&d, &m, SER_MESSAGES);
    cai_wd_array(&d, "messages in a task thread", 1,
                 o.max_messages < UINT32_MAX ? (uint32_t)o.max_messages : UINT32_MAX, &n);
    ca_task *t = NULL;
    for (uint32_t i = 0; cai_wd_ok(&d) && i < n; i++) {
        const uint8_t *p = NULL;
        size_t plen = 0;
        ca_envelope *env = NULL;
        cai_wd_bin(&d, o.max_envelope_bytes, &p, &plen);
        cai_wd_check(&d, ca_envelope_decode(&env, p, plen, &eo));
        cai_wd_check(&d, i == 0 ? task_new(&t, env, 0, true, &o) : task_apply(t, env, 0, true));
        ca_envelope_free(env);
        if (!cai_wd_ok(&d)) {
            char why[200];
            (void)snprintf(why, sizeof why, "%s", ca_last_error());
            (void)cai_fail(d.st, "task thread message %u: %s", i, why);
        }
    }
    cai_wd_map_end(&d, &m);
    st = cai_wd_finish(&d);
    if (st != CA_OK) {
        ca_task_free(t);
        return st;
    }
    *out = t;
    return CA_OK;
}
