/* adam.c: torch.optim.Adam and torch.optim.AdamW (PyTorch 1.13, amsgrad off).
 * With t the parameter's step count after this update:
 *   Adam:  g = grad + wd*p                 AdamW: p *= 1 - lr*wd;  g = grad
 *   m = b1*m + (1-b1)*g
 *   v = b2*v + (1-b2)*g^2
 *   p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
 * m is state slot 0 and v slot 1 of the store. The loop is adam_step_cpu in
 * kernels/optim.c.
 */
#include "optim/optim.h"

#include "autograd/op.h"
#include "kernels/optim.h"

AdamConfig adam_defaults(double lr) {
    return (AdamConfig){.lr = lr, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0};
}

AdamConfig adamw_defaults(double lr) {
    AdamConfig c = adam_defaults(lr);
    c.weight_decay = 1e-2;
    return c;
}

static void adam_run(Optimizer *o, const OptimGroup *g, size_t offset, int64_t n, int64_t step) {
    ParamStore *s = o->store;
    const AdamConfig *c = &o->adam;
    DISPATCH(s->device, adam_step, s->params + offset, params_state(s, 0) + offset, params_state(s, 1) + offset,
             s->grads + offset, n, g->lr, c->beta1, c->beta2, c->eps, g->weight_decay, o->kind == OPTIM_ADAMW, step);
}

static Optimizer *adam_new(ParamStore *s, AdamConfig c, OptimKind kind) {
    NX_CHECK(c.beta1 >= 0 && c.beta1 < 1 && c.beta2 >= 0 && c.beta2 < 1 && c.eps >= 0,
             "Adam: betas (%g, %g) must lie in [0, 1) and eps %g be >= 0", c.beta1, c.beta2, c.eps);
    Optimizer *o = optim_alloc(s, kind, c.lr, c.weight_decay);
    o->adam = c;
    o->run = adam_run;
    params_state(s, 0), params_state(s, 1); /* allocated now, so a checkpoint can fill them before step 1 */
    return o;
}

Optimizer *optim_adam(ParamStore *s, AdamConfig c) { return adam_new(s, c, OPTIM_ADAM); }
Optimizer *optim_adamw(ParamStore *s, AdamConfig c) { return adam_new(s, c, OPTIM_ADAMW); }
