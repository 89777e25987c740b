// Riverbed's error body {error_id, error_text}; the OAuth token endpoint's RFC 6749
// {error, error_description}; and the HTML page the appliance's front web server sends
// when the API behind it is down or lost the answer.
import { Refusal } from '../kit/http';

/** What the front web server (Apache) labels its pages with. */
export const PROXY_PAGE_TYPE = 'text/html; charset=iso-8859-1';
const PROXY_PAGE_TITLES: Record<502 | 503, string> = {
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

export function fail(status: number, errorId: string, errorText: string, headers: Record<string, string> = {}): never {
  throw new Refusal(status, { error_id: errorId, error_text: errorText }, headers);
}

export function oauthFail(error: string, description: string): never {
  throw new Refusal(400, { error, error_description: description });
}

export function proxyPage(status: 502 | 503): string {
  const phrase = PROXY_PAGE_TITLES[status];
  return `<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>${status} ${phrase}</title>\n</head><body>\n<h1>${phrase}</h1>\n</body></html>\n`;
}
