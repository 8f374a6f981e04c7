import { promises as fs } from 'node:fs';

/**
 * `statfs` types of filesystems whose `stat` is answered from the kernel's own, always current
 * inode: ext2/3/4, xfs, btrfs, tmpfs, zfs, overlayfs (container layers), f2fs. On network and FUSE
 * filesystems (NFS, CephFS, SMB, sshfs, …) a `stat` may be answered from attributes cached for
 * seconds, so it cannot prove a file unchanged since another machine wrote it.
 */
const LOCAL_FILESYSTEM_TYPES = new Set([0xef53, 0x58465342, 0x9123683e, 0x01021994, 0x2fc12fc1, 0x794c7630, 0xf2f52010]);

/** True when `directory` lies on a local filesystem (see `LOCAL_FILESYSTEM_TYPES`); false when unsure. */
export async function isLocalFilesystem(directory: string): Promise<boolean> {
  try {
    return LOCAL_FILESYSTEM_TYPES.has(Number((await fs.statfs(directory)).type));
  } catch {
    return false;
  }
}
