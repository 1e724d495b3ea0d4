/* secprof fuzz target: profile parser and filter compiler on any bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bpf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * The first byte picks the settings, so that strict mode, other
 * capability sets, kernels and targets are reached too; the rest is the
 * profile. Every input must end in a program or an error, never a crash,
 * a leak or undefined behaviour.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t targets[] = {SCMP_ARCH_X86_64, SCMP_ARCH_AARCH64,
	                                   SCMP_ARCH_X86, SCMP_ARCH_S390X};
	struct bpf_program *prog = NULL;
	struct sp_error *err = NULL;
	struct bpf_settings s;
	uint8_t knobs = 0;

	if (bpf_settings_default(&s) < 0)
		return 0;
	if (size > 0) {
		knobs = data[0];
		data++;
		size--;
	}
	s.strict = knobs & 1;
	if (knobs & 2)
		s.caps = ~UINT64_C(0) >> 23;
	if (knobs & 4)
		s.kernel_major = 3;
	s.arch = targets[(knobs >> 3) & 3];

	if (bpf_compile(data, size, &s, &prog, &err) == 0) {
		if (prog->size != prog->n_insns * sizeof(*prog->insns))
			__builtin_trap();
		bpf_program_free(prog);
	} else if (err == NULL || err->msg == NULL || err->msg[0] == '\0') {
		/* Every failure must say why. */
		__builtin_trap();
	}
	sp_error_free(err);
	return 0;
}
