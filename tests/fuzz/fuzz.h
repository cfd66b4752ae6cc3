/*
 * fuzz.h - what the fuzz targets share: the libFuzzer entry point each defines, and a scratch
 * directory on tmpfs for targets whose parser reads named files.
 *
 * Each target is built twice: with clang's libFuzzer (-DCKPT_FUZZ=ON, for campaigns and CI's
 * smoke runs) and, in every build, as a replay program (replay.c) that runs the target over
 * the stored corpus and regression inputs, so a finding stays fixed under gcc and ASan too.
 * docs/fuzzing.md says how to run a campaign.
 */
#ifndef CKPT_FUZZ_H
#define CKPT_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* The target: parse data[0..size) every way the product would. Never fails. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads of tensors larger than this are skipped: the point is the parsers, not memcpy. */
#define FUZZ_READ_MAX (1u << 20)

/* A per-process scratch directory (created on first use, in /dev/shm when it exists). */
const char *fuzz_dir(void);

/* Write data[0..size) to fuzz_dir()/name; returns the full path (static buffer) or NULL. */
const char *fuzz_write(const char *name, const uint8_t *data, size_t size);

#endif
