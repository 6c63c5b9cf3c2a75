// Fused optimizer updates: one call updates every parameter, in place, without
// recording gradients. Semantics follow torch.optim (SGD, Adam, AdamW).
#include <cmath>

#include "internal.h"

using dr::ref;

extern "C" {

dr_err dr_sgd_step(dr_tensor* params, dr_tensor* bufs, int64_t n, double lr, double momentum, double dampening,
                   double weight_decay, bool nesterov) {
  DR_TRY(DR_MODE_NOGRAD) {
    for (int64_t i = 0; i < n; i++) {
      at::Tensor& p = ref(params[i]);
      const at::Tensor& g = p.grad();
      if (!g.defined()) continue;
      at::Tensor d = weight_decay != 0 ? g.add(p, weight_decay) : g;
      if (momentum != 0) {
        if (bufs[i] == nullptr) {
          bufs[i] = dr::make(d.clone().detach());
        } else {
          ref(bufs[i]).mul_(momentum).add_(d, 1 - dampening);
        }
        const at::Tensor& buf = ref(bufs[i]);
        d = nesterov ? d.add(buf, momentum) : buf;
      }
      p.add_(d, -lr);
    }
  }
  DR_CATCH
}

dr_err dr_adam_step(dr_tensor* params, dr_tensor* exp_avg, dr_tensor* exp_avg_sq, int64_t n, double lr, double beta1,
                    double beta2, double eps, double weight_decay, bool decoupled, int64_t step) {
  DR_TRY(DR_MODE_NOGRAD) {
    double bc1 = 1 - std::pow(beta1, static_cast<double>(step));
    double bc2 = 1 - std::pow(beta2, static_cast<double>(step));
    for (int64_t i = 0; i < n; i++) {
      at::Tensor& p = ref(params[i]);
      const at::Tensor& g0 = p.grad();
      if (!g0.defined()) continue;
      at::Tensor g = g0;
      if (weight_decay != 0) {
        if (decoupled) {
          p.mul_(1 - lr * weight_decay);
        } else {
          g = g.add(p, weight_decay);
        }
      }
      if (exp_avg[i] == nullptr) exp_avg[i] = dr::make(at::zeros_like(p, at::MemoryFormat::Preserve));
      if (exp_avg_sq[i] == nullptr) exp_avg_sq[i] = dr::make(at::zeros_like(p, at::MemoryFormat::Preserve));
      at::Tensor& m = ref(exp_avg[i]);
      at::Tensor& v = ref(exp_avg_sq[i]);
      m.lerp_(g, 1 - beta1);
      v.mul_(beta2).addcmul_(g, g, 1 - beta2);
      at::Tensor denom = (v.sqrt() / std::sqrt(bc2)).add_(eps);
      p.addcdiv_(m, denom, -lr / bc1);
    }
  }
  DR_CATCH
}

dr_err dr_clip_grad_norm(dr_tensor* params, int64_t n, double max_norm, double* total) {
  DR_TRY(DR_MODE_NOGRAD) {
    std::vector<at::Tensor> norms;
    for (int64_t i = 0; i < n; i++) {
      const at::Tensor& g = ref(params[i]).grad();
      if (g.defined()) norms.push_back(g.detach().norm(2).to(at::kFloat));
    }
    if (norms.empty()) {
      *total = 0;
    } else {
      double t = at::stack(norms).norm(2).item<double>();
      *total = t;
      double coef = max_norm / (t + 1e-6);
      if (coef < 1) {
        for (int64_t i = 0; i < n; i++) {
          at::Tensor& g = ref(params[i]).mutable_grad();
          if (g.defined()) g.mul_(coef);
        }
      }
    }
  }
  DR_CATCH
}

dr_err dr_grads_finite(dr_tensor* params, int64_t n, bool* finite) {
  DR_TRY(DR_MODE_NOGRAD) {
    bool ok = true;
    for (int64_t i = 0; i < n && ok; i++) {
      const at::Tensor& g = ref(params[i]).grad();
      if (g.defined() && !at::isfinite(g).all().item<bool>()) ok = false;
    }
    *finite = ok;
  }
  DR_CATCH
}

dr_err dr_scale_grads(dr_tensor* params, int64_t n, double factor) {
  DR_TRY(DR_MODE_NOGRAD) {
    for (int64_t i = 0; i < n; i++) {
      at::Tensor& g = ref(params[i]).mutable_grad();
      if (g.defined()) g.mul_(factor);
    }
  }
  DR_CATCH
}

}  // extern "C"
