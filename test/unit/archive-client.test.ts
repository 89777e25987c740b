import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UploadPartCommand } from '@aws-sdk/client-s3';
import { archiveClient } from '../../functions/runtime/archive-client';

const MIB = 1024 * 1024;

/** An S3-shaped endpoint that reads each request's body, answers with an ETag, and counts the connections it accepts. */
function partEndpoint(): { server: Server; connections: () => number; requests: () => number } {
  let connections = 0;
  let requests = 0;
  const server = createServer((request, response) => {
    requests += 1;
    request.resume();
    request.on('end', () => response.writeHead(200, { ETag: `"part-${requests}"`, 'Content-Length': '0' }).end());
  });
  server.on('connection', () => {
    connections += 1;
  });
  return { server, connections: () => connections, requests: () => requests };
}

let endpoint: ReturnType<typeof partEndpoint>;
let url: string;

beforeAll(async () => {
  endpoint = partEndpoint();
  await new Promise<void>((resolve) => endpoint.server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(endpoint.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  endpoint.server.closeAllConnections();
  await new Promise<void>((resolve) => endpoint.server.close(() => resolve()));
});

describe('archiveClient', () => {
  test('sends a run of large parts over one kept-alive connection, not a new connection per part', async () => {
    // Prepare: parts above the 2 MB from which the SDK would ask for "100 Continue" on a fresh, closed-after-use connection
    const s3 = archiveClient({ region: 'us-east-1', endpoint: url, forcePathStyle: true }, { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' });
    const part = Buffer.alloc(3 * MIB, 7);

    // Act
    for (let partNumber = 1; partNumber <= 6; partNumber += 1) {
      await s3.send(new UploadPartCommand({ Bucket: 'archive', Key: 'copy.bin', UploadId: 'upload-1', PartNumber: partNumber, Body: part, ContentLength: part.length }));
    }

    // Assess
    expect(endpoint.requests()).toBe(6);
    expect(endpoint.connections()).toBe(1);
  });
});
