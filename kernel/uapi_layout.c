// SPDX-License-Identifier: GPL-2.0-only
/*
 * Prints, as Rust, the size and field offsets of each uapi structure that
 * the lkl crate mirrors, compiled against the built kernel's headers.
 * Built and run by build.rs; the crate's tests compare them.
 */
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>
#include <linux/time_types.h>
#include <linux/stat.h>
#include <asm/statfs.h>
#include <linux/utsname.h>
#include <asm/stat.h>
#include <linux/openat2.h>

struct linux_dirent64 {
	__u64 d_ino;
	__s64 d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

#define SIZE(s) printf("    (\"%s\", %zu),\n", #s, sizeof(struct s))
#define FIELD(s, f) printf("    (\"%s.%s\", %zu),\n", #s, #f, offsetof(struct s, f))

int main(void)
{
	printf("pub const LAYOUTS: &[(&str, usize)] = &[\n");
	SIZE(__kernel_timespec);
	FIELD(__kernel_timespec, tv_nsec);
	SIZE(stat);
	FIELD(stat, st_ino);
	FIELD(stat, st_mode);
	FIELD(stat, st_nlink);
	FIELD(stat, st_uid);
	FIELD(stat, st_rdev);
	FIELD(stat, st_size);
	FIELD(stat, st_blksize);
	FIELD(stat, st_blocks);
	FIELD(stat, st_atime);
	FIELD(stat, st_mtime);
	FIELD(stat, st_mtime_nsec);
	FIELD(stat, st_ctime);
	SIZE(statx);
	FIELD(statx, stx_mask);
	FIELD(statx, stx_blksize);
	FIELD(statx, stx_attributes);
	FIELD(statx, stx_nlink);
	FIELD(statx, stx_uid);
	FIELD(statx, stx_mode);
	FIELD(statx, stx_ino);
	FIELD(statx, stx_size);
	FIELD(statx, stx_blocks);
	FIELD(statx, stx_atime);
	FIELD(statx, stx_btime);
	FIELD(statx, stx_ctime);
	FIELD(statx, stx_mtime);
	FIELD(statx, stx_rdev_major);
	FIELD(statx, stx_dev_major);
	SIZE(open_how);
	FIELD(open_how, mode);
	FIELD(open_how, resolve);
	SIZE(statfs);
	FIELD(statfs, f_bsize);
	FIELD(statfs, f_blocks);
	FIELD(statfs, f_files);
	FIELD(statfs, f_fsid);
	FIELD(statfs, f_namelen);
	FIELD(statfs, f_flags);
	SIZE(new_utsname);
	FIELD(new_utsname, release);
	FIELD(new_utsname, machine);
	SIZE(linux_dirent64);
	FIELD(linux_dirent64, d_reclen);
	FIELD(linux_dirent64, d_type);
	FIELD(linux_dirent64, d_name);
	printf("];\n");
	return 0;
}
