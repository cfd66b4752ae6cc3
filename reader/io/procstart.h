/*
 * procstart.h - what both executables (`ckptfs` and `mount.ckptfs`) do first, before any
 * thread exists: set up the network library when a URL is named, tune the allocator for
 * large indexes, and take URL passwords out of /proc/PID/cmdline.
 */
#ifndef CKPT_PROCSTART_H
#define CKPT_PROCSTART_H

/* Run once at the top of main, with main's own arguments (argv's strings may be rewritten). */
void ckpt_process_start(int argc, char **argv);

#endif
