/* ckpt: see ckpt.h. */
#include "ckpt.h"
#include "lifecycle.h"
#include "atomic.h"
#include "hash.h"
#include "json.h"
#include "safetensors.h"
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static int write_weights(const char* path, Model* m, long step, char err[ERR_LEN]) {
    const float* host = model_params_host(m);
    StTensor* t = calloc_check(m->ntensors, sizeof *t);
    for (int i = 0; i < m->ntensors; i++) {
        const ParamInfo* p = &m->info[i];
        snprintf(t[i].name, sizeof t[i].name, "%s", p->name);
        t[i].dtype = ST_F32;
        t[i].ndim = p->ndim;
        t[i].shape[0] = p->shape[0];
        t[i].shape[1] = p->shape[1];
        t[i].data = host + p->offset;
        t[i].nbytes = p->numel * sizeof(float);
    }
    json_t* cfg = model_config_to_json(&m->cfg);
    char* cfg_s = json_dumps(cfg, JSON_COMPACT | JSON_SORT_KEYS);
    char step_s[32];
    snprintf(step_s, sizeof step_s, "%ld", step);
    json_t* meta = json_pack("{s:s, s:s, s:s}", "format", "dd-ckpt-1", "model_config", cfg_s, "step", step_s);
    if (m->tokenizer_sha256[0]) json_object_set_new(meta, "tokenizer_sha256", json_string(m->tokenizer_sha256));
    int rc = st_write(path, t, m->ntensors, meta, err);
    json_decref(meta);
    json_decref(cfg);
    free(cfg_s);
    free(t);
    return rc;
}

int ckpt_save(const char* run_dir, const char* prefix, long step, Model* m, const float* mopt,
              const float* vopt, const json_t* state, char out_dir[4096], char err[ERR_LEN]) {
    char final[4096], tmp[4200], p[4400], link[4200], rel[512];
    /* every name first: a path that does not fit fails before anything is written */
    if (life_step_dir(final, sizeof final, run_dir, prefix, step, err) ||
        path_fmt(tmp, sizeof tmp, err, "%s.tmp.%d", final, (int)getpid()) ||
        path_fmt(rel, sizeof rel, err, "%s_step_%07ld", prefix, step) ||
        path_fmt(link, sizeof link, err, "%s/%s_latest", run_dir, prefix))
        return -1;
    /* tmp is under 4200 bytes and each name below is short: p (4400) holds them */
    life_rm_tree(tmp);
    if (mkdir_p(tmp, err)) return -1;
    if (path_join(p, sizeof p, tmp, "model.safetensors", err) || write_weights(p, m, step, err)) return -1;
    if (m->tokenizer_json) {   /* a checkpoint dir that Python users can load on its own */
        size_t len;
        char* buf = read_file(m->tokenizer_json, &len, err);
        int rc = !buf || path_join(p, sizeof p, tmp, "tokenizer.json", err) || atomic_write(p, buf, len, err);
        free(buf);
        if (rc) return -1;
    }
    if (mopt && vopt) {
        StTensor t[2];
        memset(t, 0, sizeof t);
        size_t bytes = m->num_params * sizeof(float);
        float* host = malloc_check(2 * bytes);   /* the AdamW state may live on the GPU */
        m->k->download(host, mopt, bytes);
        m->k->download(host + m->num_params, vopt, bytes);
        const float* src[2] = {host, host + m->num_params};
        for (int i = 0; i < 2; i++) {
            snprintf(t[i].name, sizeof t[i].name, "%s", i ? "adamw.v" : "adamw.m");
            t[i].dtype = ST_F32;
            t[i].ndim = 1;
            t[i].shape[0] = (int64_t)m->num_params;
            t[i].data = src[i];
            t[i].nbytes = m->num_params * sizeof(float);
        }
        int rc = path_join(p, sizeof p, tmp, "optim.safetensors", err) || st_write(p, t, 2, NULL, err);
        free(host);
        if (rc) return -1;
    }
    if (state) {
        if (path_join(p, sizeof p, tmp, "train_state.json", err) || json_write_atomic(p, state, err)) return -1;
    }
    /* A stale dir of the same step (a crash after rename, before the next
     * step) is replaced: the new one holds the same or later state. */
    if (life_publish_dir(tmp, final, err)) return -1;
    if (symlink_swap(rel, link, err)) return -1;
    if (out_dir) memcpy(out_dir, final, sizeof final);
    return 0;
}

static int weights_path(char* out, size_t cap, const char* ckpt, char err[ERR_LEN]) {
    return is_dir(ckpt) ? path_join(out, cap, ckpt, "model.safetensors", err) : path_fmt(out, cap, err, "%s", ckpt);
}

int ckpt_read_config(const char* ckpt, ModelConfig* c, char err[ERR_LEN]) {
    char p[4200];
    if (weights_path(p, sizeof p, ckpt, err)) return -1;
    SafeTensors* s = st_open(p, 0, err);
    if (!s) return -1;
    const char* cs = st_meta(s, "model_config");
    json_error_t je;
    json_t* j = cs ? json_loads(cs, 0, &je) : NULL;
    int rc = -1;
    if (!j) errf(err, "%s: __metadata__ has no valid model_config", p);
    else rc = model_config_from_json(c, j, p, err);
    json_decref(j);
    st_close(s);
    return rc;
}

int ckpt_load_weights(const char* ckpt, Model* m, char err[ERR_LEN]) {
    char p[4200];
    if (weights_path(p, sizeof p, ckpt, err)) return -1;
    SafeTensors* s = st_open(p, 1, err);
    if (!s) return -1;
    int rc = -1;
    for (int i = 0; i < m->ntensors; i++) {
        const ParamInfo* pi = &m->info[i];
        const StTensor* t = st_find(s, pi->name);
        if (!t) { errf(err, "%s: tensor %s missing (a checkpoint of another model?)", p, pi->name); goto done; }
        int same = t->dtype == ST_F32 && t->ndim == pi->ndim && t->shape[0] == pi->shape[0] &&
                   (pi->ndim == 1 || t->shape[1] == pi->shape[1]);
        if (!same) {
            char have[64], want[64];
            if (t->ndim == 2) snprintf(have, sizeof have, "(%lld, %lld)", (long long)t->shape[0], (long long)t->shape[1]);
            else snprintf(have, sizeof have, "(%lld)", (long long)t->shape[0]);
            if (pi->ndim == 2) snprintf(want, sizeof want, "(%d, %d)", pi->shape[0], pi->shape[1]);
            else snprintf(want, sizeof want, "(%d)", pi->shape[0]);
            errf(err, "%s: tensor %s has shape %s but the model needs %s", p, pi->name, have, want);
            goto done;
        }
        memcpy(m->hparams + pi->offset, t->data, pi->numel * sizeof(float));
    }
    if (st_count(s) != m->ntensors) {
        errf(err, "%s: %d tensors but the model has %d (a checkpoint of another model?)", p, st_count(s), m->ntensors);
        goto done;
    }
    model_params_changed(m);
    const char* tk = st_meta(s, "tokenizer_sha256");
    snprintf(m->tokenizer_sha256, sizeof m->tokenizer_sha256, "%s", tk && strlen(tk) == 64 ? tk : "");
    rc = 0;
done:
    st_close(s);
    return rc;
}

int ckpt_read_tokenizer(const char* ckpt, char hex[65], char err[ERR_LEN]) {
    char p[4200];
    if (weights_path(p, sizeof p, ckpt, err)) return -1;
    SafeTensors* s = st_open(p, 0, err);   /* metadata only: the payload is checked where it is loaded */
    if (!s) return -1;
    const char* tk = st_meta(s, "tokenizer_sha256");
    snprintf(hex, 65, "%s", tk && strlen(tk) == 64 ? tk : "");
    st_close(s);
    return 0;
}

int ckpt_check_tokenizer(const char* ckpt, const char* ckpt_sha256, const char* path, const char* tok_sha256, char err[ERR_LEN]) {
    char h[HASH_HEX];
    if (!ckpt_sha256 || !*ckpt_sha256) return 0;   /* a checkpoint from before the hash was recorded */
    if (!tok_sha256) {
        if (hash_file(path, h, err)) return -1;
        tok_sha256 = h;
    }
    if (!*tok_sha256 || !strcmp(tok_sha256, ckpt_sha256)) return 0;
    errf(err, "%s: another tokenizer than the one checkpoint %s was trained with (sha256 %.12s... vs %.12s...)",
             path, ckpt, tok_sha256, ckpt_sha256);
    return -1;
}

int ckpt_load_model(const char* ckpt, const char* device, const char* precision, const Tokenizer* tok,
                    const char* tok_path, Model* m, char err[ERR_LEN]) {
    ModelConfig mc;
    if (ckpt_read_config(ckpt, &mc, err)) return -1;
    model_build(m, &mc, 0);
    if (ckpt_load_weights(ckpt, m, err)) { model_free(m); return -1; }
    if (tok_vocab_size(tok) != m->V) {
        errf(err, "%s: vocab %d differs from the model's %d (%s): mismatched tokenizer and checkpoint", tok_path,
                 tok_vocab_size(tok), m->V, ckpt);
        model_free(m);
        return -1;
    }
    if (ckpt_check_tokenizer(ckpt, m->tokenizer_sha256, tok_path, NULL, err)) { model_free(m); return -1; }
    if (model_use_device(m, device, precision, err)) { model_free(m); return -1; }
    return 0;
}

int ckpt_load_state(const char* dir, Model* m, float* mopt, float* vopt, json_t** state, char err[ERR_LEN]) {
    char p[4200];
    if (ckpt_load_weights(dir, m, err) || path_join(p, sizeof p, dir, "optim.safetensors", err)) return -1;
    SafeTensors* s = st_open(p, 1, err);
    if (!s) return -1;
    const StTensor* tm = st_find(s, "adamw.m");
    const StTensor* tv = st_find(s, "adamw.v");
    if (!tm || !tv || tm->nbytes != m->num_params * sizeof(float) || tv->nbytes != tm->nbytes) {
        errf(err, "%s: optimizer state does not match the model's %zu parameters", p, m->num_params);
        st_close(s);
        return -1;
    }
    m->k->upload(mopt, tm->data, tm->nbytes);
    m->k->upload(vopt, tv->data, tv->nbytes);
    st_close(s);
    if (path_join(p, sizeof p, dir, "train_state.json", err)) return -1;
    *state = json_load_path(p, err);
    return *state ? 0 : -1;
}

