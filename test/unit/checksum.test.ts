import { parseVendorChecksum } from '../../functions/archive/checksum';

describe('vendor checksum forms', () => {
  test.each([
    ['a'.repeat(64), 'sha256'],
    ['A'.repeat(32), 'md5'],
    ['b'.repeat(40), 'sha1'],
    ['c'.repeat(128), 'sha512'],
    [`sha256:${'d'.repeat(64)}`, 'sha256'],
    [`MD5=${'e'.repeat(32)}`, 'md5'],
  ])('%s is recognised as %s', (checksum, algorithm) => {
    expect(parseVendorChecksum(checksum)?.algorithm).toBe(algorithm);
  });

  test.each([['a21ae13...'], ['f'.repeat(50)], [`sha256:${'a'.repeat(32)}`], ['']])('%s cannot be compared and is only recorded', (checksum) => {
    expect(parseVendorChecksum(checksum)).toBeUndefined();
  });
});
