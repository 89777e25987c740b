import type { S3Client } from '@aws-sdk/client-s3';

/** One request a client sent to the store: the operation and its headers as signed and sent. */
export interface SentRequest {
  readonly operation: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** Records every request the client sends, after the build step (where checksum and payload headers are set). */
export function recordRequests(s3: S3Client, sent: SentRequest[]): void {
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      sent.push({ operation: String(context.commandName), headers: { ...request.headers } });
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordRequests', priority: 'low' },
  );
}
