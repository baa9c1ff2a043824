/* kernels: picks the backend table for --device / --precision (kernels.h). */
#include "kernels.h"
#include <stdio.h>
#include <string.h>

const KernelOps* kernels_get(const char* device, const char* precision, char* err, size_t errlen) {
    int auto_p = !strcmp(precision, "auto"), fp32 = !strcmp(precision, "fp32"), bf16 = !strcmp(precision, "bf16");
    if (!auto_p && !fp32 && !bf16) {
        snprintf(err, errlen, "--precision: '%s' is not one of auto, fp32, bf16", precision);
        return NULL;
    }
    if (!strcmp(device, "cpu")) {
        if (bf16) { snprintf(err, errlen, "--precision bf16 needs --device cuda (the CPU backend is fp32)"); return NULL; }
        return &kernels_cpu;
    }
    if (!strcmp(device, "cpu-guarded")) {
        if (bf16) { snprintf(err, errlen, "--precision bf16 needs --device cuda (cpu-guarded is fp32)"); return NULL; }
        return &kernels_guarded;
    }
    if (!strcmp(device, "cuda")) {
#ifdef DD_CUDA
        return kernels_cuda_init(!fp32, err, errlen);
#else
        snprintf(err, errlen, "--device cuda: this build has no CUDA backend (rebuild with `make CUDA=1`)");
        return NULL;
#endif
    }
    snprintf(err, errlen, "--device: '%s' is not one of cpu, cuda, cpu-guarded", device);
    return NULL;
}
