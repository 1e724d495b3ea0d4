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

/* Record members of every .bpf open: how the bytes were made. */
static json_t *compile_fields(struct fs_daemon *d, const char *source_sha256)
{
	json_t *f = json_object();

	json_object_set_new(f, "compile", bpf_settings_json(&d->bpf));
	if (source_sha256 != NULL)
		json_object_set_new(f, "source_sha256",
		                    json_string(source_sha256));
	return f;
}

/*
 * A profile that cannot be compiled fails the same way every time for the
 * same blob and settings, so the failure is cached like a filter; its
 * .json twin is unaffected.
 */
static struct fs_content *bpf_content(struct fs_daemon *d,
                                      const struct store_node *n,
                                      const char *key)
{
	_cleanup_bpf_program_ struct bpf_program *prog = NULL;
	_cleanup_error_ struct sp_error *err = NULL;
	struct fs_content *src, *ct;
	char jkey[64];

	snprintf(jkey, sizeof(jkey), "json:%s", n->promotion->blob);
	src = fs_cache_get(d->cache, jkey);
	if (src == NULL)
		src = json_content(d, n, jkey);
	if (src == NULL)
		return NULL;
	if (src->err != 0) {
		ct = fs_content_failed(key, src->err, src->error);
		fs_content_unref(src);
		return ct;
	}

	if (bpf_compile(src->data, src->len, &d->bpf, &prog, &err) != 0) {
		sp_log(LOG_WARNING, "compile '%s' (%s): %s", n->path,
		       n->promotion->tag, err->msg);
		ct = fs_content_failed(key, EIO, err->msg);
	} else {
		ct = fs_content_new(key, prog->insns, prog->size);
	}
	if (ct != NULL)
		ct->fields = compile_fields(d, src->sha256);
	fs_content_unref(src);
	return ct != NULL ? fs_cache_put(d->cache, ct) : NULL;
}

struct fs_content *fs_content_for(struct fs_daemon *d,
                                  const struct store_node *n)
{
	struct fs_content *ct;
	char key[384];

	if (n->format == STORE_FORMAT_BPF)
		snprintf(key, sizeof(key), "bpf:%s:%s", n->promotion->blob,
		         d->bpf_fingerprint);
	else
		snprintf(key, sizeof(key), "json:%s", n->promotion->blob);

	ct = fs_cache_get(d->cache, key);
	if (ct != NULL)
		return ct;
	if (n->format == STORE_FORMAT_BPF)
		return bpf_content(d, n, key);
	return json_content(d, n, key);
}
