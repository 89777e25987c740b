export type ChecksumAlgorithm = 'md5' | 'sha1' | 'sha256' | 'sha512';

const HEX_LENGTHS: Record<number, ChecksumAlgorithm> = { 32: 'md5', 40: 'sha1', 64: 'sha256', 128: 'sha512' };

/**
 * The algorithm a vendor checksum was made with, told from its form: an explicit
 * "sha256:"-style prefix, or the length of a bare hex digest. Vendors do not document
 * the algorithm (NetBox Cloud shows only "a21ae13..."), so anything else is recorded in
 * the manifest but not compared.
 */
export function parseVendorChecksum(checksum: string | null | undefined): { algorithm: ChecksumAlgorithm; hex: string } | undefined {
  if (!checksum) return undefined;
  const trimmed = checksum.trim().toLowerCase();
  const prefixed = /^(md5|sha1|sha-1|sha256|sha-256|sha512|sha-512)[:=]([0-9a-f]+)$/.exec(trimmed);
  if (prefixed?.[1] && prefixed[2]) {
    const algorithm = prefixed[1].replace('-', '') as ChecksumAlgorithm;
    return HEX_LENGTHS[prefixed[2].length] === algorithm ? { algorithm, hex: prefixed[2] } : undefined;
  }
  if (!/^[0-9a-f]+$/.test(trimmed)) return undefined;
  const algorithm = HEX_LENGTHS[trimmed.length];
  return algorithm ? { algorithm, hex: trimmed } : undefined;
}
