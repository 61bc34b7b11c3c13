/*
 * wire-tables: prints the field tables of the docs from the library's own
 * message tables (lib/wire, cai_wire_field rows), the ones its encoders and
 * strict decoders run on. check_wire_tables.py compares each block with the
 * one in docs/ between `<!-- wire-table: ID -->` and `<!-- /wire-table -->`
 * (contract_wire_tables), and --update writes them there.
 *
 * It also checks what the decoder assumes of every table: keys below 128, in
 * strictly ascending order (check_keys), and fails otherwise.
 *
 * It prints the ledger's op table too (lib/ledger/ledger_ops.h): who signs
 * each op type and what it does, and per type (SLASH: per evidence kind) the
 * exact order of its checks with the answer of each (ledger_checks), from the
 * same rows and step list (cai_ledger_op_steps) that cai_ledger_apply_op runs
 * and test_check_order walks.
 *
 * Output: for each table, a line "@@ ID", then its markdown. A table nested
 * in another (a map field, an array of maps) is printed after it under its
 * own name; two tables of one name (a task's input and output content) must
 * print alike, or the program fails.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card/card_internal.h"
#include "delegation/delegation_internal.h"
#include "cyberagent.h"
#include "envelope/envelope_internal.h"
#include "keyhistory/keyhistory_internal.h"
#include "ledger/ledger_ops.h"
#include "task/task_internal.h"
#include "wire/wire.h"

/* Defined in lib/ledger/ledger_codec.c (the op, then its signatures: one map). */
extern const cai_wire_table cai_ledger_op_table;
extern const cai_wire_table cai_ledger_op_sig_table;

#define OUT_MAX 16384

typedef struct text {
    char buf[OUT_MAX];
    size_t n;
} text;

static void add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(t->buf + t->n, sizeof t->buf - t->n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= sizeof t->buf - t->n) {
        fprintf(stderr, "wire-tables: output too long\n");
        exit(1);
    }
    t->n += (size_t)k;
}

/* 0xffffffff for all-ones values from 16 bits up, decimal otherwise. */
static const char *num(uint64_t v, char *buf, size_t cap)
{
    if (v >= 0xffffu && (v & (v + 1)) == 0)
        snprintf(buf, cap, "0x%" PRIx64, v);
    else
        snprintf(buf, cap, "%" PRIu64, v);
    return buf;
}

static void type_of(text *t, const cai_wire_field *f)
{
    char a[24], b[24];
    if (f->doc_type != NULL) {
        add(t, "%s", f->doc_type);
        return;
    }
    switch (f->type) {
    case CAI_WT_UINT:
    case CAI_WT_U32:
        if (f->flags & CAI_WF_BITS)
            add(t, "uint, bits 0x%" PRIx64, f->max);
        else if (f->min == 0 && f->max == 0)
            add(t, f->type == CAI_WT_U32 ? "uint ≤ 0xffffffff" : "uint");
        else
            add(t, "uint, %s .. %s", num(f->min, a, sizeof a),
                num(f->max != 0             ? f->max
                    : f->type == CAI_WT_U32 ? UINT32_MAX
                                            : UINT64_MAX,
                    b, sizeof b));
        break;
    case CAI_WT_BOOL:
        add(t, "bool");
        break;
    case CAI_WT_CONST:
        add(t, "uint = %s", num(f->min, a, sizeof a));
        break;
    case CAI_WT_FIXED:
    case CAI_WT_REF:
        add(t, "bin, %s bytes", num(f->max, a, sizeof a));
        break;
    case CAI_WT_BIN:
    case CAI_WT_STR: {
        const char *w = f->type == CAI_WT_STR ? "str" : "bin";
        uint64_t min = f->min > 0 ? f->min : f->presence == CAI_WP_NONZERO ? 1 : 0;
        if (f->max == 0)
            add(t, "%s", w);
        else if (f->flags & CAI_WF_RAW)
            add(t, "%s, ≤ %s bytes", w, num(f->max, a, sizeof a));
        else
            add(t, "%s, %s .. %s bytes", w, num(min, a, sizeof a), num(f->max, b, sizeof b));
        break;
    }
    case CAI_WT_MAP:
        add(t, "map: %s", f->sub->name);
        break;
    case CAI_WT_ARRAY:
        add(t, "array (%s .. %s) of ", num(f->min, a, sizeof a), num(f->max, b, sizeof b));
        type_of(t, f->elem);
        break;
    default:
        add(t, "?");
        break;
    }
}

static void rule_of(text *t, const cai_wire_field *f, const char *when)
{
    const char *pres = NULL;
    switch (f->presence) {
    case CAI_WP_NONZERO:
        pres = f->type == CAI_WT_REF                            ? "optional"
               : f->type == CAI_WT_STR || f->type == CAI_WT_BIN ? "optional, omitted when empty"
                                                                : "optional, omitted when 0";
        break;
    case CAI_WP_WHEN:
        pres = when;
        break;
    case CAI_WP_CHOICE:
        pres = "one alternative (below)";
        break;
    default:
        break;
    }
    if (pres != NULL)
        add(t, "%s%s", pres, f->rule != NULL ? "; " : "");
    if (f->rule != NULL)
        add(t, "%s", f->rule);
}

static void rows(text *t, const cai_wire_table *tab, const char *when)
{
    for (size_t i = 0; i < tab->count; i++) {
        const cai_wire_field *f = &tab->fields[i];
        add(t, "| %u | %s | ", f->key, f->name);
        type_of(t, f);
        add(t, " | ");
        rule_of(t, f, when);
        add(t, " |\n");
    }
}

/* "Exactly one of: key 0; keys 1 and 2." for a table with alternatives. */
static void choice_note(text *t, const cai_wire_table *tab)
{
    int last_alt = -1, any = 0;
    for (size_t i = 0; i < tab->count; i++) {
        const cai_wire_field *f = &tab->fields[i];
        if (f->presence != CAI_WP_CHOICE)
            continue;
        if (!any)
            add(t, "\nExactly one of: ");
        else
            add(t, (int)f->alt == last_alt ? " and " : "; ");
        add(t, "%u (%s)", f->key, f->name);
        last_alt = f->alt;
        any = 1;
    }
    if (any)
        add(t, ".\n");
}

#define MAX_TABLES 32
static struct {
    const char *name;
    text *t;
} printed[MAX_TABLES];
static size_t n_printed;

static void print_table(const cai_wire_table *tab, const cai_wire_table *more, const char *when);

/* Nested tables of `tab`, after it. */
static void nested(const cai_wire_table *tab)
{
    for (size_t i = 0; i < tab->count; i++) {
        const cai_wire_field *f = &tab->fields[i];
        if (f->type == CAI_WT_MAP)
            print_table(f->sub, NULL, NULL);
        else if (f->type == CAI_WT_ARRAY && f->elem->type == CAI_WT_MAP)
            print_table(f->elem->sub, NULL, NULL);
    }
}

/*
 * The decoder takes a row's key from one byte when it is the next one on the
 * wire (lib/wire/table.c, take_key): that needs keys below 128 and rows in
 * strictly ascending key order, `more` (a later slice of the same map) after
 * `tab`.
 */
static void check_keys(const cai_wire_table *tab, const cai_wire_table *more)
{
    long last = -1;
    for (int part = 0; part < 2; part++) {
        const cai_wire_table *t = part == 0 ? tab : more;
        for (size_t i = 0; t != NULL && i < t->count; i++) {
            uint32_t key = t->fields[i].key;
            if (key >= 128 || (long)key <= last) {
                fprintf(stderr, "wire-tables: %s: key %u is not below 128 and above %ld\n", t->name,
                        key, last);
                exit(1);
            }
            last = (long)key;
        }
    }
}

static void print_table(const cai_wire_table *tab, const cai_wire_table *more, const char *when)
{
    check_keys(tab, more);
    text *t = calloc(1, sizeof *t);
    if (t == NULL)
        exit(1);
    add(t, "| key | field | type | rule |\n|-----|-------|------|------|\n");
    rows(t, tab, when);
    if (more != NULL)
        rows(t, more, when);
    choice_note(t, tab);
    for (size_t i = 0; i < n_printed; i++) {
        if (strcmp(printed[i].name, tab->name) != 0)
            continue;
        if (strcmp(printed[i].t->buf, t->buf) != 0) {
            fprintf(stderr, "wire-tables: two tables named '%s' differ\n", tab->name);
            exit(1);
        }
        free(t);
        return;
    }
    if (n_printed == MAX_TABLES)
        exit(1);
    printed[n_printed].name = tab->name;
    printed[n_printed++].t = t;
    printf("@@ %s\n%s", tab->name, t->buf);
    nested(tab);
}

/* Which keys each op type carries, read from the encoder's own output. */
static void ledger_keys(void)
{
    static const uint8_t sig[64];
    printf("@@ ledger op keys\n| type | keys |\n|------|------|\n");
    for (uint32_t type = 1; type <= CAI_LEDGER_OP_LAST; type++) {
        if (!cai_ledger_op_known(type)) /* a number another branch's type takes */
            continue;
        ca_ledger_op op = {.version = CA_LEDGER_OP_VERSION};
        op.type = type;
        uint8_t enc[CA_LEDGER_OP_MAX_BYTES];
        size_t len = 0;
        if (cai_ledger_op_encode_signed(&op, sig, type == CA_LEDGER_OP_ESCROW_OPEN ? sig : NULL,
                                        enc, sizeof enc, &len) != CA_OK) {
            fprintf(stderr, "wire-tables: op type %u does not encode: %s\n", type, ca_last_error());
            exit(1);
        }
        cai_wire_reader r;
        cai_wire_map m;
        cai_wr_init(&r, enc, len);
        if (cai_wr_map(&r, &m) != CA_OK)
            exit(1);
        /* The type's row name (SLASH's is "SLASH EQUIVOCATION": the type is its first word). */
        const char *name = cai_ledger_ops[type].name;
        printf("| %.*s (%u) | ", (int)strcspn(name, " "), name, type);
        for (uint32_t i = 0, n = m.remaining; i < n; i++) {
            uint64_t key = 0;
            if (cai_wr_uint(&r, &key) != CA_OK || cai_wr_skip(&r) != CA_OK)
                exit(1);
            printf("%s%" PRIu64, i > 0 ? ", " : "", key);
        }
        printf(" |\n");
    }
}

/* The op fields in `bits` (F_*), by their wire names: "`a`, `b`". */
static void field_list(unsigned bits)
{
    const char *sep = "";
    for (unsigned b = 1; b <= bits; b <<= 1)
        if (bits & b) {
            printf("%s`%s`", sep, cai_ledger_op_field_name(b));
            sep = ", ";
        }
}

/* What must hold at step `st` of row `s`. */
static void step_rule(const cai_ledger_op_spec *s, const cai_ledger_step *st)
{
    const unsigned all = F_CP | F_REF | F_AMT | F_AMT2 | F_DL | F_EV | F_RES;
    switch (st->kind) {
    case CAI_STEP_TYPE:
        printf("`type` is 1 .. %u", (unsigned)CAI_LEDGER_OP_LAST);
        break;
    case CAI_STEP_UNUSED:
        printf("the fields %s does not carry are 0: ",
               s->type == CA_LEDGER_OP_SLASH ? "SLASH" : s->name);
        field_list(all & ~(unsigned)s->fields);
        break;
    case CAI_STEP_EVIDENCE:
        printf("`evidence` is 1 .. %u (this table: %u)", (unsigned)CA_LEDGER_EVIDENCE_DISPUTE,
               s->evidence);
        break;
    case CAI_STEP_NEED:
        field_list(s->need);
        printf(" ≠ 0");
        break;
    case CAI_STEP_ZERO:
        field_list(s->zero);
        printf(" = 0");
        break;
    case CAI_STEP_SIGNER:
        printf("`signer` is the options' `%s`",
               s->signer == CAI_SIGNER_AUTHORITY ? "authority" : "arbiter");
        break;
    case CAI_STEP_DISTINCT:
        printf("`counterparty` ≠ `signer`");
        break;
    case CAI_STEP_NONCE_USED:
        printf("`nonce` > the signer's last nonce (0 while it has no account: `nonce` 0 always "
               "fails here)");
        break;
    case CAI_STEP_NONCE_NEXT:
        printf("`nonce` = the signer's last nonce + 1");
        break;
    case CAI_STEP_CHECK:
        printf("%s", s->checks[st->k].doc);
        break;
    case CAI_STEP_ACCOUNTS:
        printf("the accounts the op creates fit: accounts held + new ≤ `max_accounts`, new "
               "counting ");
        if (s->signer != CAI_SIGNER_ANY)
            printf("the signer%s", s->new_cp ? " and " : "");
        if (s->new_cp)
            printf("the counterparty%s", s->distinct ? "" : " (when not the signer)");
        printf(" if without an account");
        break;
    case CAI_STEP_MEMORY: {
        printf("memory for what the commit adds:");
        const char *sep = " ";
        if (s->new_cp || s->signer != CAI_SIGNER_ANY) {
            printf("%sthe new accounts", sep);
            sep = ", ";
        }
        static const char *const what[] = {"an escrow", "an evidence key", "an unbonding entry",
                                           "an expiry-heap entry"};
        for (unsigned b = 0; b < 4; b++)
            if (s->reserve & (1u << b)) {
                printf("%s%s", sep, what[b]);
                sep = ", ";
            }
        break;
    }
    default:
        fprintf(stderr, "wire-tables: step kind %u has no text\n", st->kind);
        exit(1);
    }
}

/* Who signs each op and what it does; then per row its checks, in the order apply runs them. */
static void ledger_checks(void)
{
    printf("@@ ledger ops\n| op | signed by | effect |\n|----|-----------|--------|\n");
    for (unsigned i = 1; i < CAI_LEDGER_N_SPECS; i++)
        if (cai_ledger_ops[i].name != NULL)
            printf("| %s | %s | %s |\n", cai_ledger_ops[i].name, cai_ledger_ops[i].who,
                   cai_ledger_ops[i].effect);
    for (unsigned i = 1; i < CAI_LEDGER_N_SPECS; i++) {
        const cai_ledger_op_spec *s = &cai_ledger_ops[i];
        if (s->name == NULL)
            continue;
        cai_ledger_step steps[64];
        size_t n = cai_ledger_op_steps(s, steps, 64);
        if (n > 64)
            exit(1);
        printf("@@ ledger checks %s\n| # | must hold | else |\n|---|-----------|------|\n",
               s->name);
        for (size_t k = 0; k < n; k++) {
            printf("| %zu | ", k + 1);
            step_rule(s, &steps[k]);
            printf(" | `%s` |\n", ca_status_str(steps[k].status));
        }
    }
}

int main(void)
{
    print_table(&cai_envelope_table, NULL, NULL);
    print_table(&cai_card_table, NULL, NULL);
    print_table(&cai_delegation_table, NULL, NULL);
    print_table(&cai_revocation_table, NULL, NULL);
    for (uint32_t k = CA_KIND_TASK_REQUEST; k <= CA_KIND_TASK_DISPUTE; k++)
        print_table(cai_task_body_table(k), NULL, NULL);
    print_table(&cai_ledger_op_table, &cai_ledger_op_sig_table, "only for the types below");
    print_table(&cai_key_event_table, &cai_key_event_sig_table, "rotation only");
    ledger_keys();
    ledger_checks();
    return 0;
}
