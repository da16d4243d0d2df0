/*
 * cpuid_cache.h - KVM's supported CPUID, remembered between runs.
 */
#ifndef HEDGE_CPUID_CACHE_H
#define HEDGE_CPUID_CACHE_H

#include <linux/kvm.h>

/*
 * Returns a malloc'd CPUID table as KVM_GET_SUPPORTED_CPUID reports it, from a
 * per-user cache file when one exists for this boot of this kernel, otherwise
 * from KVM (and then saves it).  NULL if KVM cannot tell.
 */
struct kvm_cpuid2 *cpuid_supported(int kvm_fd);

#endif
