/* secprofd content: the bytes each profile file delivers, through the cache. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "fs.h"
#include "log.h"

static struct fs_content *json_content(struct fs_daemon *d,
				       const struct store_node *n,
				       const char *key)
{
	_cleanup_error_ struct sp_error *err = NULL;
	struct fs_content *ct;
	void *buf = NULL;
	size_t len = 0;

	if (store_read_blob(d->store, n->promotion->blob, &buf, &len, &err)) {
		sp_log(LOG_ERR, "read profile '%s': %s", n->path, err->msg);
		/* Not cached: a read failure may be transient. */
		return fs_content_failed(key, EIO, err->msg);
	}
	ct = fs_content_new(key, buf, len);
	free(buf);
	return ct != NULL ? fs_cache_put(d->cache, ct) : NULL;
}

struct fs_content *fs_content_for(struct fs_daemon *d,
				  const struct store_node *n)
{
	struct fs_content *ct;
	char key[128];

	if (n->format == STORE_FORMAT_BPF)
		snprintf(key, sizeof(key), "bpf:%s", n->promotion->blob);
	else
		snprintf(key, sizeof(key), "json:%s", n->promotion->blob);

	ct = fs_cache_get(d->cache, key);
	if (ct != NULL)
		return ct;
	if (n->format == STORE_FORMAT_BPF)
		return fs_content_failed(key, EIO, "bpf output is not built");
	return json_content(d, n, key);
}
