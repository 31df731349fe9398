/* What the state file's saving (sl_persist.c) and loading (sl_persist_load.c) share. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "sl_k8s.h"

/* The persisted kinds, in the order they are restored (nodes and routes before the pods
 * that may use them; the Kubernetes objects last, in one batch). Adding a kind: a row in
 * each table below and a case in sl_persist_note_request. */
enum kind { K_NODE, K_ROUTE, K_POD, K_SVC, K_SLICE, K_NS, K_KPOD, K_POLICY, K_COUNT };
/* Each kind's list in the snapshot and the journal lines. */
extern const char *const sl_persist_list_name[K_COUNT];
/* The Kubernetes kinds (K_SVC..K_POLICY) as the decoder names them. */
extern const enum sl_k8s_kind sl_persist_k8s_kind[K_COUNT];

/* An object's key within its kind, at most this long. */
#define SL_PERSIST_KEY_MAX (SL_NAME_MAX + SL_K8S_NAME_MAX + 2)

/* An object's key within its kind, as the snapshot and the journal write it: "ns/name"
 * for pods and the namespaced Kubernetes objects (namespace "default" when absent), the
 * name of a node or a Namespace, the prefix of a route. Returns false when the object has
 * none (restored as it is, and refused there). */
bool sl_persist_item_key(enum kind k, const cJSON *o, char *buf, size_t n);

/* Start over for path: no snapshot of this process's yet (its next commit writes one);
 * a snapshot child still running is waited for. Control thread. */
void sl_persist_reset(const char *path);
