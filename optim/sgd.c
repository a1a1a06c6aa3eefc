/* sgd.c: torch.optim.SGD (PyTorch 1.13), momentum, dampening, nesterov,
 * L2 weight decay:
 *   g = grad + wd*p
 *   buf = g on the parameter's first update, else momentum*buf + (1 - dampening)*g
 *   g = nesterov ? g + momentum*buf : buf        (both only when momentum != 0)
 *   p -= lr*g
 * The momentum buffer is state slot 0 of the store (allocated only when
 * momentum != 0). The loop is sgd_step_cpu in kernels/optim.c.
 */
#include "optim/optim.h"

#include "autograd/op.h"
#include "kernels/optim.h"

static void sgd_run(Optimizer *o, const OptimGroup *g, size_t offset, int64_t n, int64_t step) {
    ParamStore *s = o->store;
    const SgdConfig *c = &o->sgd;
    float *buf = c->momentum != 0 ? params_state(s, 0) + offset : NULL;
    DISPATCH(s->device, sgd_step, s->params + offset, buf, s->grads + offset, n, g->lr, c->momentum, c->dampening,
             g->weight_decay, c->nesterov, step == 1);
}

Optimizer *optim_sgd(ParamStore *s, SgdConfig c) {
    NX_CHECK(c.momentum >= 0 && c.dampening >= 0, "SGD: momentum %g and dampening %g must be >= 0", c.momentum,
             c.dampening);
    NX_CHECK(!c.nesterov || (c.momentum > 0 && c.dampening == 0),
             "SGD: nesterov needs momentum > 0 and dampening 0 (got %g, %g), as in PyTorch", c.momentum, c.dampening);
    Optimizer *o = optim_alloc(s, OPTIM_SGD, c.lr, c.weight_decay);
    o->sgd = c;
    o->run = sgd_run;
    if (c.momentum != 0) params_state(s, 0); /* allocated now, so a checkpoint can fill it before step 1 */
    return o;
}
