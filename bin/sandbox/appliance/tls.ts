// A fresh CA and a leaf certificate for the simulator, so a client has to trust caPem
// (as it would an appliance's own CA) rather than skip verification.
import { generate } from 'selfsigned';

/** By default for 127.0.0.1, ::1 and localhost; with dnsNames, for those names only (a certificate for another host). */
export async function generateCertificate(dnsNames?: readonly string[]): Promise<{ caPem: string; key: string; cert: string }> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const ca = await generate([{ name: 'commonName', value: 'offsite appliance simulator CA' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const leaf = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notBeforeDate,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: dnsNames
          ? dnsNames.map((value) => ({ type: 2, value }))
          : [
              { type: 7, ip: '127.0.0.1' },
              { type: 7, ip: '::1' },
              { type: 2, value: 'localhost' },
            ],
      },
    ],
  });
  return { caPem: ca.cert, key: leaf.private, cert: leaf.cert };
}
