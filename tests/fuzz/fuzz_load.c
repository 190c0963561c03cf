/* fuzz_load.c - libFuzzer target for the job-file loader (grpx_load_mem). */
#include <stddef.h>
#include <stdint.h>

#include "grpx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Inputs beyond 64 KiB only slow the fuzzer down: the loader's limits on
 * nesting, aliases and scalar sizes are reached long before that.
 */
#define MAX_INPUT (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	struct grpx_job *job = NULL;
	struct grpx_diags d = { 0 };

	if (size > MAX_INPUT)
		return 0;
	if (!devnull)
		devnull = fopen("/dev/null", "w");
	if (grpx_load_mem("fuzz.yaml", (const char *)data, size, &job, &d) == 0) {
		/* A loaded job must also print (durations, at times, limits). */
		if (devnull)
			grpx_job_plan(job, devnull);
		grpx_job_free(job);
	}
	grpx_diags_free(&d);
	return 0;
}
