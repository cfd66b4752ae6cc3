/*
 * mount.h - `ckptfs mount` / `mount.ckptfs`: mount a checkpoint as a read-only FUSE tree.
 *
 * Usage: mount.ckptfs SOURCE MOUNTPOINT [-o opt[,opt...]] [-f] [-d] [-s]
 * (mount(8) helper conventions; see docs/mount.md for the view, the options and exit codes).
 */
#ifndef CKPTFS_MOUNT_H
#define CKPTFS_MOUNT_H

/*
 * Run the mount command. argv[0] is the command's name ("mount", "mount.ckptfs", ...),
 * argv[1..argc) its arguments in any order getopt accepts: SOURCE, MOUNTPOINT and options.
 * Returns the exit code (CKPTFS_EXIT_* of exitcodes.h). Without -f it returns in the parent
 * once the daemon has answered the kernel's INIT, i.e. when the mount serves requests.
 */
int ckfs_cmd_mount(int argc, char **argv);

#endif
