/*
 * libcyberagent — umbrella header. Include this, or one module header from
 * include/cyberagent/. See docs/ARCHITECTURE.md for the ownership and
 * thread-safety rules every module follows.
 */
#ifndef CYBERAGENT_H
#define CYBERAGENT_H

#include "cyberagent/common.h"
#include "cyberagent/version.h"
#include "cyberagent/identity.h"
#include "cyberagent/envelope.h"
#include "cyberagent/keyhistory.h"
#include "cyberagent/card.h"
#include "cyberagent/delegation.h"
#include "cyberagent/task.h"
#include "cyberagent/ledger.h"
#include "cyberagent/reputation.h"
#include "cyberagent/routing.h"

#endif /* CYBERAGENT_H */
