/*
 * libcyberagent — version of the headers and of the linked library.
 * THREAD SAFETY: all functions here are safe from any thread.
 */
#ifndef CYBERAGENT_VERSION_H
#define CYBERAGENT_VERSION_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CA_VERSION_MAJOR 1
#define CA_VERSION_MINOR 0
#define CA_VERSION_PATCH 0
/* major * 10000 + minor * 100 + patch: compare against ca_version_number(). */
#define CA_VERSION_NUMBER (CA_VERSION_MAJOR * 10000 + CA_VERSION_MINOR * 100 + CA_VERSION_PATCH)
#define CA_VERSION_STRING "1.0.0"

/* Version of the library actually linked (may differ from the headers). */
CA_API const char *ca_version_string(void);
CA_API unsigned ca_version_number(void);

#ifdef __cplusplus
}
#endif

#endif /* CYBERAGENT_VERSION_H */
