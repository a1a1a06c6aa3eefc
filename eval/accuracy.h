/* accuracy.h: classification accuracy of a model over a dataset. */
#ifndef NX_ACCURACY_H
#define NX_ACCURACY_H

#include "data/dataset.h"
#include "layers/model.h"

/* Copy a host batch (n, c, h, w) into a step tensor on device d. */
Tensor *batch_to_device(const float *x, int n, int c, int h, int w, Device d);
Tensor *labels_to_device(const int32_t *y, int n, Device d);
/* Index of the largest logit of each row: logits (N, C) on any device -> out (N), host. */
void argmax_rows(int32_t *out, const Tensor *logits);

/* Accuracy in [0, 1] and mean cross-entropy of the model (eval mode, no
 * grad) over the whole dataset; resets the step arena per batch. */
typedef struct {
    double accuracy, loss;
    int64_t n;
} EvalResult;
EvalResult eval_classifier(Model *m, const Dataset *d, int batch, const float *mean, const float *std);

#endif
