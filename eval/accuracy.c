/* accuracy.c: see accuracy.h. */
#include "eval/accuracy.h"
#include "data/loader.h"

#include <stdlib.h>

Tensor *batch_to_device(const float *x, int n, int c, int h, int w, Device d) {
    Tensor *t = tensor_new4(d, n, c, h, w);
    device_memcpy(d, t->data, NX_CPU, x, tensor_bytes(t));
    return t;
}

Tensor *labels_to_device(const int32_t *y, int n, Device d) {
    Tensor *t = tensor_newv(d, NX_I32, 1, n);
    device_memcpy(d, t->data, NX_CPU, y, tensor_bytes(t));
    return t;
}

void argmax_rows(int32_t *out, const Tensor *logits) {
    float *h = tensor_to_host(logits);
    int n = logits->shape[0], c = logits->shape[1];
    for (int i = 0; i < n; i++) {
        int best = 0;
        for (int k = 1; k < c; k++)
            if (h[i * c + k] > h[i * c + best]) best = k;
        out[i] = best;
    }
    free(h);
}

EvalResult eval_classifier(Model *m, const Dataset *d, int batch, const float *mean, const float *std) {
    Loader l;
    LoaderOptions o = loader_defaults(batch, 0);
    o.mean = mean;
    o.std = std;
    EvalResult r = {0};
    if (loader_init(&l, d, &o) != 0) nx_fatal("eval: %s", nx_error_msg());
    bool was_training = m->training, prev = nx_no_grad();
    model_set_training(m, false);
    loader_start_epoch(&l, 0);
    Batch b;
    int32_t *pred = nx_malloc(sizeof(int32_t) * (size_t)batch);
    double correct = 0, loss = 0;
    while (loader_next(&l, &b)) {
        nx_step_reset();
        Device dev = m->params.device;
        Tensor *logits = model_forward(m, batch_to_device(b.x, b.n, b.c, b.h, b.w, dev));
        Tensor *ce = nx_cross_entropy(logits, labels_to_device(b.y, b.n, dev));
        float ce_h;
        device_memcpy(NX_CPU, &ce_h, dev, ce->data, sizeof ce_h);
        loss += (double)ce_h * b.n;
        argmax_rows(pred, logits);
        for (int i = 0; i < b.n; i++) correct += pred[i] == b.y[i];
        r.n += b.n;
    }
    nx_step_reset();
    free(pred);
    loader_free(&l);
    model_set_training(m, was_training);
    nx_set_grad(prev);
    r.accuracy = r.n ? correct / (double)r.n : 0;
    r.loss = r.n ? loss / (double)r.n : 0;
    return r;
}
