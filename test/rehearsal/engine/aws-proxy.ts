// The AWS endpoint the rehearsal's functions talk to (AWS_ENDPOINT_URL in their
// environment, and the configuration's archive endpoint). Each call is attributed to the
// function whose access key signed it, turned into the IAM action(s) and resource ARN(s)
// AWS would authorize, and decided against that function's role in the template. A denied
// call is answered as AWS answers it (AccessDenied naming the action and resource) and
// recorded; an allowed one is served: S3 by the local store it is forwarded to, Secrets
// Manager and CloudWatch by small stand-ins here (their few operations offsite uses).
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { evaluate, type AccessDecision } from './iam';
import type { PolicyDocument, RoleModel } from './template';

export interface Caller {
  readonly caller: string;
  readonly role: RoleModel;
}

export interface StandInSecret {
  readonly name: string;
  readonly arn: string;
  readonly value: string;
}

export interface AwsProxyOptions {
  readonly account: string;
  readonly region: string;
  /** The caller an access key id belongs to (each function process signs with its own). */
  readonly callerOf: (accessKeyId: string) => Caller | undefined;
  /** The stand-in secret a SecretId (name or ARN) names. */
  readonly secretFor: (secretId: string) => StandInSecret | undefined;
  /**
   * The S3-compatible store that holds a bucket (the local store, or moto's for Object
   * Lock), and whether it wants the caller's signature: s3rver checks signatures against
   * its own key but serves unsigned requests; moto checks none but refuses anonymous reads.
   */
  readonly storeFor: (bucket: string) => { readonly endpoint: string; readonly keepSignature: boolean } | undefined;
  readonly bucketPolicyFor: (bucket: string) => PolicyDocument | undefined;
  /** The KMS key a bucket's default encryption names (SSE-KMS), if any. */
  readonly bucketKeyFor: (bucket: string) => string | undefined;
  /** A KMS key's key policy, which KMS requires to allow the call too. */
  readonly keyPolicyFor: (keyArn: string) => PolicyDocument | undefined;
  readonly alarmExists: (name: string) => boolean;
}

/** Something the rehearsal saw that a deployment would fail on, other than a denied call. */
export interface ProxyFinding {
  readonly caller: string;
  readonly problem: string;
}

export interface AwsProxy {
  readonly endpoint: string;
  /** Every authorization decision, in order. */
  readonly decisions: AccessDecision[];
  readonly findings: ProxyFinding[];
  /** Alarm name → the reasons functions set it to ALARM with. */
  readonly alarmsRaised: Map<string, string[]>;
  stop(): Promise<void>;
}

interface Check {
  readonly action: string;
  readonly resource: string;
  readonly context?: Record<string, string | string[]>;
  readonly bucket?: string;
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function xmlText(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[ch] ?? ch);
}

/**
 * The IAM actions an S3 REST request needs, as the S3 documentation's "Permissions" for
 * each operation lists them (path-style requests: /<bucket>/<key>).
 */
export function s3Checks(method: string, url: URL, headers: IncomingMessage['headers'], body: Buffer): Check[] {
  const [, bucketSegment = '', ...keySegments] = url.pathname.split('/');
  const bucket = decodeURIComponent(bucketSegment);
  const key = keySegments.map(decodeURIComponent).join('/');
  const query = url.searchParams;
  const bucketArn = `arn:aws:s3:::${bucket}`;
  const objectArn = `${bucketArn}/${key}`;
  const has = (name: string): boolean => query.has(name);
  const versioned = has('versionId');
  if (key === '') {
    if (method === 'POST' && has('delete')) {
      const keys = [...body.toString('utf8').matchAll(/<Key>([\s\S]*?)<\/Key>/g)].map((match) => xmlText(match[1] ?? ''));
      const bypass = headers['x-amz-bypass-governance-retention'] === 'true' ? [{ action: 's3:BypassGovernanceRetention', resource: bucketArn, bucket }] : [];
      return [...keys.map((objectKey) => ({ action: /<VersionId>/.test(body.toString('utf8')) ? 's3:DeleteObjectVersion' : 's3:DeleteObject', resource: `${bucketArn}/${objectKey}`, bucket })), ...bypass];
    }
    if (method === 'GET' && has('uploads')) return [{ action: 's3:ListBucketMultipartUploads', resource: bucketArn, bucket }];
    if (method === 'GET' && has('versions')) return [{ action: 's3:ListBucketVersions', resource: bucketArn, bucket, context: { 's3:prefix': query.get('prefix') ?? '' } }];
    if (method === 'GET' && has('location')) return [{ action: 's3:GetBucketLocation', resource: bucketArn, bucket }];
    if (method === 'GET' && has('object-lock')) return [{ action: 's3:GetBucketObjectLockConfiguration', resource: bucketArn, bucket }];
    if (method === 'GET' || method === 'HEAD') {
      const context: Record<string, string> = { 's3:prefix': query.get('prefix') ?? '' };
      if (query.has('delimiter')) context['s3:delimiter'] = query.get('delimiter') ?? '';
      if (query.has('max-keys')) context['s3:max-keys'] = query.get('max-keys') ?? '';
      return [{ action: 's3:ListBucket', resource: bucketArn, bucket, context }];
    }
    return [{ action: `s3:UnknownBucketOperation(${method} ?${[...query.keys()].join('&')})`, resource: bucketArn, bucket }];
  }
  const object = (action: string): Check => ({ action, resource: objectArn, bucket });
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (has('tagging')) return [object(versioned ? 's3:GetObjectVersionTagging' : 's3:GetObjectTagging')];
      if (has('retention')) return [object('s3:GetObjectRetention')];
      if (has('legal-hold')) return [object('s3:GetObjectLegalHold')];
      if (has('uploadId')) return [object('s3:ListMultipartUploadParts')];
      if (has('attributes')) return [object(versioned ? 's3:GetObjectVersionAttributes' : 's3:GetObjectAttributes'), object(versioned ? 's3:GetObjectVersion' : 's3:GetObject')];
      return [object(versioned ? 's3:GetObjectVersion' : 's3:GetObject')];
    case 'PUT': {
      if (has('tagging')) return [object(versioned ? 's3:PutObjectVersionTagging' : 's3:PutObjectTagging')];
      if (has('legal-hold')) return [object('s3:PutObjectLegalHold')];
      if (has('retention')) return [object('s3:PutObjectRetention'), ...(headers['x-amz-bypass-governance-retention'] === 'true' ? [object('s3:BypassGovernanceRetention')] : [])];
      const checks = [object('s3:PutObject')];
      // Writing these with the object needs their own permission too.
      if (headers['x-amz-tagging']) checks.push(object('s3:PutObjectTagging'));
      if (headers['x-amz-object-lock-legal-hold']) checks.push(object('s3:PutObjectLegalHold'));
      if (headers['x-amz-object-lock-mode'] || headers['x-amz-object-lock-retain-until-date']) checks.push(object('s3:PutObjectRetention'));
      const copySource = headers['x-amz-copy-source'];
      if (typeof copySource === 'string') checks.push({ action: 's3:GetObject', resource: `arn:aws:s3:::${decodeURIComponent(copySource.replace(/^\//, '').split('?')[0] ?? '')}`, bucket });
      return checks;
    }
    case 'POST':
      // CreateMultipartUpload (?uploads) and CompleteMultipartUpload (?uploadId) are PutObject.
      if (has('uploads') || has('uploadId')) return [object('s3:PutObject'), ...(has('uploads') && headers['x-amz-tagging'] ? [object('s3:PutObjectTagging')] : [])];
      return [object(`s3:UnknownObjectOperation(POST ?${[...query.keys()].join('&')})`)];
    case 'DELETE':
      if (has('uploadId')) return [object('s3:AbortMultipartUpload')];
      if (has('tagging')) return [object(versioned ? 's3:DeleteObjectVersionTagging' : 's3:DeleteObjectTagging')];
      return [object(versioned ? 's3:DeleteObjectVersion' : 's3:DeleteObject'), ...(headers['x-amz-bypass-governance-retention'] === 'true' ? [object('s3:BypassGovernanceRetention')] : [])];
    default:
      return [object(`s3:UnknownObjectOperation(${method})`)];
  }
}

/**
 * What S3 asks KMS for, on the caller's behalf and with the caller's permissions, to serve
 * an object request in a bucket (or with headers) naming a KMS key: a data key for a
 * PutObject or a CreateMultipartUpload, the decryption of that data key to complete a
 * multipart upload and to read an object (GetObject; HeadObject needs none). The key is
 * the one the request names (x-amz-server-side-encryption-aws-kms-key-id), else the
 * bucket's default; every object the rehearsal reads was written under that default.
 */
export function kmsChecks(method: string, url: URL, headers: IncomingMessage['headers'], bucketKey: string | undefined, region: string): Check[] {
  const [, bucketSegment = '', ...keySegments] = url.pathname.split('/');
  if (keySegments.length === 0 || keySegments.join('/') === '') return [];
  const query = url.searchParams;
  const subresource = ['tagging', 'retention', 'legal-hold', 'attributes', 'acl'].some((name) => query.has(name));
  if (subresource) return [];
  const named = headers['x-amz-server-side-encryption'] === 'aws:kms' ? headers['x-amz-server-side-encryption-aws-kms-key-id'] : undefined;
  const key = typeof named === 'string' && named !== '' ? named : bucketKey;
  if (key === undefined) return [];
  const kms = (action: string): Check => ({ action, resource: key, context: { 'kms:ViaService': `s3.${region}.amazonaws.com` }, bucket: decodeURIComponent(bucketSegment) });
  if (method === 'PUT' && !query.has('uploadId')) return [kms('kms:GenerateDataKey')];
  if (method === 'POST' && query.has('uploads')) return [kms('kms:GenerateDataKey')];
  if (method === 'POST' && query.has('uploadId')) return [kms('kms:Decrypt')];
  if (method === 'GET' && !query.has('uploadId')) return [kms('kms:Decrypt')];
  return [];
}

/** An aws-chunked body (`<hex size>[;chunk-signature=…]\r\n<bytes>\r\n` … `0\r\n<trailers>\r\n`): its bytes and its trailing headers. */
export function decodeAwsChunked(body: Buffer): { payload: Buffer; trailers: Record<string, string> } {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', offset);
    if (lineEnd < 0) throw new Error('aws-chunked body without a chunk header');
    const size = Number.parseInt(body.subarray(offset, lineEnd).toString('latin1').split(';')[0] ?? '', 16);
    if (!Number.isFinite(size)) throw new Error('aws-chunked body with a malformed chunk size');
    offset = lineEnd + 2;
    if (size === 0) break;
    parts.push(body.subarray(offset, offset + size));
    offset += size + 2;
  }
  const trailers: Record<string, string> = {};
  for (const line of body.subarray(offset).toString('latin1').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  delete trailers['x-amz-trailer-signature'];
  return { payload: Buffer.concat(parts), trailers };
}

export async function startAwsProxy(options: AwsProxyOptions): Promise<AwsProxy> {
  const decisions: AccessDecision[] = [];
  const findings: ProxyFinding[] = [];
  const alarmsRaised = new Map<string, string[]>();
  const { account, region } = options;


  function deny(response: ServerResponse, caller: Caller, check: Check, json: boolean): void {
    const message = `User: arn:aws:sts::${account}:assumed-role/${caller.role.name}/${caller.caller} is not authorized to perform: ${check.action} on resource: ${check.resource} (rehearsal: function ${caller.caller})`;
    if (json) {
      response.writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': 'AccessDeniedException' });
      response.end(JSON.stringify({ __type: 'AccessDeniedException', message, Message: message }));
    } else {
      response.writeHead(403, { 'content-type': 'application/xml' });
      response.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>${escapeXml(message)}</Message></Error>`);
    }
  }

  function jsonError(response: ServerResponse, status: number, type: string, message: string): void {
    response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type });
    response.end(JSON.stringify({ __type: type, message, Message: message }));
  }

  async function authorize(caller: Caller, checks: readonly Check[]): Promise<Check | undefined> {
    for (const check of checks) {
      // A KMS call is decided with the key's policy (the stack's key lets the account's IAM policies decide), not the bucket's.
      const resourcePolicy = check.action.startsWith('kms:') ? options.keyPolicyFor(check.resource) : check.bucket === undefined ? undefined : options.bucketPolicyFor(check.bucket);
      const decision = await evaluate({ caller: caller.caller, role: caller.role, action: check.action, resource: check.resource, ...(check.context ? { context: check.context } : {}), ...(resourcePolicy ? { resourcePolicy } : {}) }, account);
      decisions.push(decision);
      if (!decision.allowed) return check;
    }
    return undefined;
  }

  /** Secrets Manager (JSON 1.1) and CloudWatch (JSON 1.0): the operations offsite calls, served here. */
  async function serveJson(response: ServerResponse, caller: Caller, target: string, body: Buffer): Promise<void> {
    const input = (body.length > 0 ? JSON.parse(body.toString('utf8')) : {}) as Record<string, unknown>;
    if (target === 'secretsmanager.GetSecretValue' || target === 'secretsmanager.DescribeSecret') {
      const secretId = String(input.SecretId ?? '');
      const secret = options.secretFor(secretId);
      // IAM decides on the secret's ARN; a name nobody created is decided on the ARN it would have.
      const resource = secret?.arn ?? (secretId.startsWith('arn:') ? secretId : `arn:aws:secretsmanager:${region}:${account}:secret:${secretId}-Rehear`);
      const denied = await authorize(caller, [{ action: `secretsmanager:${target.split('.')[1] ?? ''}`, resource }]);
      if (denied) return deny(response, caller, denied, true);
      if (!secret) return jsonError(response, 400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify({ ARN: secret.arn, Name: secret.name, SecretString: secret.value, VersionId: 'rehearsal-version-1', VersionStages: ['AWSCURRENT'], CreatedDate: 1_700_000_000 }));
      return;
    }
    if (target === 'GraniteServiceVersion20100801.SetAlarmState') {
      const alarmName = String(input.AlarmName ?? '');
      const denied = await authorize(caller, [{ action: 'cloudwatch:SetAlarmState', resource: `arn:aws:cloudwatch:${region}:${account}:alarm:${alarmName}` }]);
      if (denied) return deny(response, caller, denied, true);
      if (!options.alarmExists(alarmName)) {
        findings.push({ caller: caller.caller, problem: `SetAlarmState on ${alarmName}, which is not an alarm of the stack` });
        return jsonError(response, 400, 'ResourceNotFound', `Alarm ${alarmName} not found`);
      }
      alarmsRaised.set(alarmName, [...(alarmsRaised.get(alarmName) ?? []), String(input.StateReason ?? '')]);
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      response.end('{}');
      return;
    }
    if (target === 'GraniteServiceVersion20100801.PutMetricData') {
      const denied = await authorize(caller, [{ action: 'cloudwatch:PutMetricData', resource: '*', context: { 'cloudwatch:namespace': String(input.Namespace ?? '') } }]);
      if (denied) return deny(response, caller, denied, true);
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
      response.end('{}');
      return;
    }
    findings.push({ caller: caller.caller, problem: `called ${target}, which the rehearsal has no stand-in for` });
    jsonError(response, 400, 'UnknownOperationException', `The rehearsal has no stand-in for ${target}`);
  }

  async function serveS3(request: IncomingMessage, response: ServerResponse, caller: Caller, received: Buffer): Promise<void> {
    let body = received;
    const url = new URL(request.url ?? '/', 'http://rehearsal');
    const checks = s3Checks(request.method ?? 'GET', url, request.headers, body);
    const bucket = checks[0]?.bucket ?? '';
    const unknown = checks.find((check) => check.action.includes('Unknown'));
    if (unknown) findings.push({ caller: caller.caller, problem: `an S3 request the rehearsal cannot map to an IAM action: ${unknown.action} on ${unknown.resource}` });
    const kms = kmsChecks(request.method ?? 'GET', url, request.headers, options.bucketKeyFor(bucket), region);
    // S3 asks KMS to decrypt only an object it found: a GET of a missing key (the second
    // copy's "already there?" look) is answered 404 without a KMS call, so reads are
    // decided on the store's answer.
    const decryptIfFound = request.method === 'GET' ? kms : [];
    const denied = await authorize(caller, [...checks, ...(request.method === 'GET' ? [] : kms)]);
    if (denied) return deny(response, caller, denied, false);
    const store = options.storeFor(bucket);
    if (!store) {
      response.writeHead(404, { 'content-type': 'application/xml' });
      response.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>${escapeXml(bucket)}</BucketName></Error>`);
      return;
    }
    const headers = { ...request.headers };
    if (!store.keepSignature) {
      delete headers.authorization;
      delete headers['x-amz-security-token'];
    }
    delete headers.host;
    const chunked = String(headers['x-amz-content-sha256'] ?? '').startsWith('STREAMING-');
    if (chunked) {
      // The SDK's default checksums (as deployed, without archive.endpoint) stream the body
      // aws-chunked with the checksum as a trailer; the local store reads only plain bodies.
      const { payload, trailers } = decodeAwsChunked(body);
      body = payload;
      Object.assign(headers, trailers);
      delete headers['x-amz-trailer'];
      delete headers['x-amz-decoded-content-length'];
      headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      const encodings = String(headers['content-encoding'] ?? '')
        .split(',')
        .map((encoding) => encoding.trim())
        .filter((encoding) => encoding !== '' && encoding !== 'aws-chunked');
      if (encodings.length > 0) headers['content-encoding'] = encodings.join(',');
      else delete headers['content-encoding'];
    }
    // The body was read whole: it goes on with its length, never re-chunked.
    delete headers['transfer-encoding'];
    headers['content-length'] = String(body.length);
    await new Promise<void>((resolve, reject) => {
      const forwarded = httpRequest(new URL(request.url ?? '/', store.endpoint), { method: request.method, headers }, (answer) => {
        void (async () => {
          const found = (answer.statusCode ?? 500) < 300;
          const deniedKey = found && decryptIfFound.length > 0 ? await authorize(caller, decryptIfFound) : undefined;
          if (deniedKey) {
            answer.resume();
            deny(response, caller, deniedKey, false);
            resolve();
            return;
          }
          response.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(response);
          answer.on('end', resolve);
          answer.on('error', reject);
        })().catch(reject);
      });
      forwarded.on('error', reject);
      forwarded.end(body);
    });
  }

  const server: Server = createServer((request, response) => {
    void (async () => {
      const body = await readBody(request);
      const credential = /Credential=([^/,\s]+)\/[^/]+\/[^/]+\/([^/]+)\/aws4_request/.exec(request.headers.authorization ?? '');
      const caller = credential?.[1] ? options.callerOf(credential[1]) : undefined;
      if (!caller) {
        findings.push({ caller: credential?.[1] ?? 'unsigned', problem: `a call from no known function: ${request.method} ${request.url}` });
        response.writeHead(403, { 'content-type': 'application/xml' });
        response.end('<Error><Code>InvalidAccessKeyId</Code><Message>not a rehearsal function</Message></Error>');
        return;
      }
      const target = request.headers['x-amz-target'];
      if (typeof target === 'string') return serveJson(response, caller, target, body);
      if (credential?.[2] === 's3') return serveS3(request, response, caller, body);
      findings.push({ caller: caller.caller, problem: `called service ${credential?.[2] ?? '?'} (${request.method} ${request.url}), which the rehearsal has no stand-in for` });
      response.writeHead(400, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ message: 'no stand-in for this service' }));
    })().catch((error: unknown) => {
      findings.push({ caller: 'proxy', problem: `the rehearsal's endpoint failed: ${error instanceof Error ? error.stack : String(error)}` });
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    decisions,
    findings,
    alarmsRaised,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
