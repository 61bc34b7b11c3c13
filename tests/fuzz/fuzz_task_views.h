/*
 * Shared by fuzz_task_body and fuzz_roundtrip: points a decoded task body's
 * public views at NUL-terminated copies of its zero-copy strings, as
 * ca_task_msg makes them, so cai_task_body_encode can write it again, and
 * its delegation chain's links at handles decoded from them (links[], which
 * the caller frees with fuzz_task_links_free). Returns 0 when a link is no
 * delegation (the message parser refuses such a body; there is nothing to
 * write again). The caller frees *text and *uri either way.
 */
#ifndef CA_FUZZ_TASK_VIEWS_H
#define CA_FUZZ_TASK_VIEWS_H

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "task/task_internal.h"

static inline void fuzz_task_links_free(ca_delegation **links, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ca_delegation_free(links[i]);
}

static inline int fuzz_task_body_views(uint32_t kind, cai_task_body *b, char **text, char **uri,
                                       ca_delegation **links)
{
    *text = calloc(1, b->text_len + 1);
    *uri = calloc(1, b->uri_len + 1);
    FUZZ_CHECK(*text != NULL && *uri != NULL);
    if (b->text_len > 0)
        memcpy(*text, b->text, b->text_len);
    if (b->uri_len > 0)
        memcpy(*uri, b->uri, b->uri_len);
    const char *u = b->uri != NULL ? *uri : NULL;
    switch (kind) {
    case CA_KIND_TASK_REQUEST:
        b->u.request.capability = *text;
        b->content.uri = u;
        b->u.request.input = &b->content;
        break;
    case CA_KIND_TASK_RESULT:
        b->content.uri = u;
        b->u.result.output = b->u.result.failed ? NULL : &b->content;
        b->u.result.failure_message = *text;
        break;
    case CA_KIND_TASK_CANCEL:
        b->u.cancel.reason = *text;
        break;
    case CA_KIND_TASK_DISPUTE:
        b->u.dispute.reason = *text;
        b->u.dispute.refs = b->refs;
        break;
    default:
        break;
    }
    for (size_t i = 0; i < b->chain_count; i++) {
        links[i] = NULL;
        if (ca_delegation_decode(&links[i], b->chain[i].p, b->chain[i].n) != CA_OK) {
            fuzz_task_links_free(links, i);
            b->chain_count = 0;
            return 0;
        }
    }
    if (kind == CA_KIND_TASK_REQUEST) {
        b->u.request.delegation = (const ca_delegation *const *)links;
        b->u.request.delegation_count = b->chain_count;
    } else if (kind == CA_KIND_TASK_BID) {
        b->u.bid.delegation = (const ca_delegation *const *)links;
        b->u.bid.delegation_count = b->chain_count;
    }
    return 1;
}

#endif
